"""The HTTP side of the server: health, the REST API (``/api/v1``) and metrics.

One module per domain -- ``sessions`` (log on and off), ``users`` (who am I,
self-service), ``calls``, ``journal``, ``outbox``, ``settings``, ``templates``,
``client`` (client dispatch), ``metrics``, ``mails`` and ``languages`` -- over the
shared ``context`` and ``security`` (who is asking); ``page`` serves the web page
(``web/``).  ``app`` puts them together.  See docs/api.md and docs/web.md.
"""
