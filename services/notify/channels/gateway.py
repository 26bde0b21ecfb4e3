"""SMS and WeChat template messages through their HTTP gateways (docs/reference.md#notification-channels).

``POST <gateway> {"to", "template", "locale", "params"}`` with an ``Idempotency-Key``
header, the same on every attempt. SMS goes to the phone in E.164 (normalised with
``phonenumbers``, Chinese numbers without a country code assumed); WeChat to the
openid. ``params`` are the template's, plus ``text``: the message in a sentence.
"""
import phonenumbers

from services.notify.channels import Refused
from services.notify.channels.http import keeping_connections, post

DEFAULT_REGION = "CN"


def e164(phone):
    """The phone number in E.164, or Refused (without echoing the number)."""
    try:
        number = phonenumbers.parse(phone, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise Refused("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise Refused("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class GatewayChannel:
    def __init__(self, name, url, timeout, senders=10):
        self.name, self.url, self.timeout = name, url, timeout
        self.session = keeping_connections(senders)

    def send(self, outgoing):
        to = e164(outgoing.address) if self.name == "sms" else outgoing.address
        params = dict(outgoing.params)
        if outgoing.message is not None:
            params["text"] = outgoing.message.short
        post(self.session, self.url, self.timeout, headers={"Idempotency-Key": outgoing.key},
             json={"to": to, "template": outgoing.template, "locale": outgoing.locale,
                   "params": params})

    def close(self):
        """Close the kept connections (the service stops)."""
        self.session.close()

    def close_idle(self):
        """Kept connections a server closed are found and replaced as they are taken."""
