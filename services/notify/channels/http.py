"""What HTTP answers mean to a delivery (contract §8), shared by gateways and webhooks.

``2xx`` is delivered; ``429`` and ``5xx`` are retried (``Retry-After`` honoured, in
seconds or as an HTTP date); timeouts and refused connections are retried; any
other ``4xx`` fails at once.
"""
import email.utils
import time

import requests

from services.notify.channels import Refused, Retry

CONNECT_SECONDS = 3


def post(session, url, timeout, **kwargs):
    """POST and return the response when it is a ``2xx``; else raise Retry or Refused."""
    try:
        response = session.post(url, timeout=(min(CONNECT_SECONDS, timeout), timeout),
                                allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise Retry("timed out") from None
    except requests.ConnectionError:
        raise Retry("could not connect") from None
    except requests.RequestException as exc:
        raise Refused(f"request failed: {type(exc).__name__}") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    if status == 429 or status >= 500:
        raise Retry(f"HTTP {status}", retry_after(response.headers.get("Retry-After")))
    raise Refused(f"HTTP {status}")


def retry_after(value):
    """Seconds to wait from a ``Retry-After`` header, or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
