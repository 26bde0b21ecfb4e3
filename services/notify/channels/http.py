"""What HTTP answers mean to a delivery (docs/reference.md#notification-channels), shared by gateways and
webhooks.

``2xx`` is delivered; ``429`` and ``5xx`` are retried (``Retry-After`` honoured, in
seconds or as an HTTP date, up to an hour; any other text is ignored); timeouts,
refused connections and answers broken off are retried; any other ``4xx`` fails at
once. Connections are kept between calls (``keeping_connections``), one per sender. The
courier bounds each call as a whole (``requests``' own timeout is per read:
an answer dripping a byte at a time would never meet it).
"""
import email.utils
import functools
import os
import re
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter

from services.notify.channels import Refused, Retry

CONNECT_SECONDS = 3
#: the longest wait a ``Retry-After`` may ask for: a gateway asking for more (or for a
#: year by mistake) is tried again after an hour, and the notification is not stranded
MAX_RETRY_AFTER = 3600
DELAY_SECONDS = re.compile(r"[0-9]+")  # RFC 9110 delay-seconds: ASCII digits only


#: webhook departments whose connections are kept, each in a pool of its own
KEPT_DESTINATIONS = 16


def keeping_connections(senders):
    """A ``requests`` session that keeps a connection per sender to each destination
    (HTTP keep-alive), not the ten ``requests`` keeps by default. What ``requests`` reads
    from the environment on every call (proxies, a CA bundle) is read once: per destination
    (``proxies_for``) and here."""
    session = requests.Session()
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = HTTPAdapter(pool_connections=KEPT_DESTINATIONS,
                                            pool_maxsize=senders)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(session, url, timeout, **kwargs):
    """POST and return the response when it is a ``2xx``; else raise Retry or Refused."""
    try:
        response = session.post(url, timeout=(min(CONNECT_SECONDS, timeout), timeout),
                                allow_redirects=False, proxies=proxies_for(url), **kwargs)
    except requests.Timeout:
        raise Retry("timed out") from None
    except requests.ConnectionError:
        raise Retry("could not connect") from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        raise Retry("the answer broke off") from None  # the other side may be restarting
    except requests.RequestException as exc:
        raise Refused(f"request failed: {type(exc).__name__}") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    if status == 429 or status >= 500:
        raise Retry(f"HTTP {status}", retry_after(response.headers.get("Retry-After")))
    raise Refused(f"HTTP {status}")


@functools.lru_cache(maxsize=256)
def proxies_for(url):
    """The proxies the environment gives for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...), read
    once per destination: ``requests`` would read the whole environment on every call."""
    return requests.utils.get_environ_proxies(url)


def retry_after(value):
    """Seconds to wait from a ``Retry-After`` header (whole seconds, or an HTTP date), at
    most ``MAX_RETRY_AFTER``; None when it is neither (the usual back-off applies)."""
    value = (value or "").strip()
    if DELAY_SECONDS.fullmatch(value):
        # 20 digits are already centuries: no need to read a thousand of them
        return float(min(MAX_RETRY_AFTER, int(value[:20])))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" is parsed as naive
        when = when.replace(tzinfo=timezone.utc)
    return min(float(MAX_RETRY_AFTER), max(0.0, (when - datetime.now(timezone.utc)).total_seconds()))
