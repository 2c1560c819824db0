"""The HTTP side of the server: health check now; the REST API and web page build on it."""
