"""The HTML5 Asteroids game served from a Gluster volume (``game``), its nginx configuration
(``render_nginx``) and start-up environment (``render_start``)."""
