"""The channels notify sends on, each a small adapter behind one interface.

A channel's ``send(outgoing)`` returns when the other side accepted the message, or
raises ``Retry`` (try again later: a timeout, a refused connection, ``429``, ``5xx``,
an SMTP ``4xx``) or ``Refused`` (never: another ``4xx``, a bad address). Neither
carries an address in its text. ``configured(config)`` builds the channels whose
settings are given; an unset one is not there (its notifications are skipped).
"""
from dataclasses import dataclass

CHANNELS = ("email", "sms", "wechat", "webhook")


class DeliveryFailed(Exception):
    """Why a delivery failed, in words safe to log and show (no address)."""

    def __init__(self, detail, retry_after=None):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class Retry(DeliveryFailed):
    """Worth trying again later (``retry_after`` seconds at the earliest, when known)."""


class Refused(DeliveryFailed):
    """Will never succeed as it is: fail at once."""


@dataclass(frozen=True)
class Outgoing:
    """One delivery attempt of a notification."""
    key: str            # the idempotency key, the same on every attempt
    address: str        # email address, phone, openid or webhook URL
    template: str
    locale: str
    params: dict
    message: object = None   # messages.RenderedMessage for people; None for a webhook
    secret: str = None       # a webhook's signing secret


def configured(config, senders=10):
    """``{channel name: channel}`` for every channel whose settings are given; each keeps
    connections for ``senders`` at once per destination."""
    from services.notify.channels.email import EmailChannel
    from services.notify.channels.gateway import GatewayChannel
    from services.notify.channels.webhook import WebhookChannel

    timeout = config.get("ZD_NOTIFY_TIMEOUT_SECONDS", 10)
    channels = {"webhook": WebhookChannel(timeout, senders)}
    if config.get("ZD_SMTP_URL"):
        channels["email"] = EmailChannel(config["ZD_SMTP_URL"], config["ZD_SMTP_FROM"], timeout,
                                         senders)
    for name, key in (("sms", "ZD_SMS_GATEWAY_URL"), ("wechat", "ZD_WECHAT_GATEWAY_URL")):
        if config.get(key):
            channels[name] = GatewayChannel(name, config[key], timeout, senders)
    return channels
