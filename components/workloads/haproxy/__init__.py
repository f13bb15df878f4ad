"""HAProxy in front of web backends (``loadbalancer``) and its checked configuration
(``render_config``)."""
