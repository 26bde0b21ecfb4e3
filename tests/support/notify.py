"""A notify service whose channels all point at a development sink, for the notify tests.

``notify_with_sink`` resets the test system with the demo directory (its webhook
department aimed at the sink), starts the sink and the notify service with short
retry delays, and yields a ``NotifyWithSink``; ``notifications`` reads
notify's list of notifications, and ``new_ticket_id`` names a ticket no other test uses.
"""
import uuid
from contextlib import contextmanager
from typing import NamedTuple

import requests

from tests.support.services import running
from tests.support.sink import Sink
from tests.support.system import DEMO_DIRECTORY, fresh_system

WEBHOOK_DEPARTMENT = "gz-power-supply"
DEMO_WEBHOOK_URL = "http://127.0.0.1:8025/webhooks/gz-power-supply"


class NotifyWithSink(NamedTuple):
    """A notify service running with its channels aimed at a sink."""
    base: str         #: notify's base URL
    sink: Sink        #: where its emails, text messages, WeChat messages and webhooks go
    keys: dict        #: every party's API key, by party
    directory: dict   #: the directory snapshot, its webhook department aimed at the sink


def directory_aimed_at(sink, folder):
    """The demo directory, its webhook department sending to ``sink``."""
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    assert DEMO_WEBHOOK_URL in text
    path = folder / "directory.yaml"
    path.write_text(text.replace(DEMO_WEBHOOK_URL, sink.webhook_url(WEBHOOK_DEPARTMENT)),
                    encoding="utf-8")
    return path


def channel_settings(sink, **overrides):
    return {"ZD_SMTP_URL": sink.smtp_url, "ZD_SMS_GATEWAY_URL": sink.sms_url,
            "ZD_WECHAT_GATEWAY_URL": sink.wechat_url, "ZD_NOTIFY_RETRY_SECONDS": 0.2,
            "ZD_NOTIFY_MAX_ATTEMPTS": 4, "ZD_NOTIFY_TIMEOUT_SECONDS": 2, **overrides}


@contextmanager
def notify_with_sink(folder, **overrides):
    with Sink.start(folder) as sink:
        keys, _, directory = fresh_system(directory_aimed_at(sink, folder))
        with running("notify", **channel_settings(sink, **overrides)) as base:
            yield NotifyWithSink(base, sink, keys, directory)


def new_ticket_id():
    return f"ZD20260302-{uuid.uuid4().hex[:8].upper()}"


def notifications(base, key, **params):
    """The notifications notify lists for ``params`` (``status``, ``ticket_id``)."""
    answer = requests.get(f"{base}/api/v1/notifications", params=params, timeout=5,
                          headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["notifications"]
