"""Jenkins: the controller (our image, configured by JCasC) and Docker-in-Docker inbound agents.

``render_casc`` (the JCasC document and the first pipeline), ``render_image`` (plugins.txt and the
Dockerfiles of the controller and agent images) and ``render_scripts`` (the shell the deployment
runs on the hosts) are pure; ``controller`` and ``agents`` are the components.
"""
