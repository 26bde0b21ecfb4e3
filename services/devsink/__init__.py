"""The development sink: every outside party the notify service sends to, in one process.

``python -m services.devsink`` plays the SMTP server, the SMS and WeChat template-message
gateways and the departments' webhook endpoints, keeps every message it accepts in
memory, and shows them on a page and as JSON. Tests can make it fail on purpose
(``POST /_control/plan``) to exercise retries.

It is plain Python with threads (aiosmtpd for SMTP): it imports neither eventlet, nor
nameko, nor ``services.common``, so it runs beside the services without sharing
their patched world.

- ``store``: accepted messages, duplicates, the request log and the failure plans
- ``plans``: what a planned reply is, read from a control request
- ``mail``: an SMTP message read into the stored shape
- ``smtp``: the SMTP server
- ``deliveries``: gateway messages and webhook calls read into the stored shape
- ``web``: the HTTP server (gateways, webhooks, JSON, page, control)
- ``page``: the HTML page
- ``announce``: one masked log line per accepted message
"""
