"""An email is composed, byte for byte, as ``email.policy.default`` composes it: the
cheaper policy (header classes made once, short ASCII headers written as they are)
changes the cost, never the message."""
import io
import re
from email import policy
from email.generator import BytesGenerator

import pytest

from services.notify.channels import Outgoing
from services.notify.channels import email as channel
from services.notify.messages import render


def written(message):
    out = io.BytesIO()
    BytesGenerator(out).flatten(message, linesep="\r\n")
    return re.sub(rb"Date: [^\r]*\r\n|=+\d+==", b"", out.getvalue())  # the time and boundary


@pytest.mark.parametrize("template, locale", [("ticket.resolved.reporter", "zh-CN"),
                                              ("ticket.resolved.reporter", "en"),
                                              ("ticket.assigned.representative", "zh-CN")])
@pytest.mark.parametrize("sender", ["Zero Distance <noreply@zd.example>", "零距离 <noreply@zd.example>"])
@pytest.mark.parametrize("result", ["The drain was cleared", "已疏通，" * 60])
def test_the_cheaper_policy_writes_the_same_bytes(monkeypatch, template, locale, sender, result):
    params = {"ticket_id": "ZD20260101-C0FFEE00", "result": result, "link": "https://zd.example/c/t"}
    outgoing = Outgoing("key-1", "chen@example.org", template, locale, params,
                        message=render(template, locale, params))
    cheaper = written(channel.compose(outgoing, sender))
    monkeypatch.setattr(channel, "POLICY", policy.default)
    assert cheaper == written(channel.compose(outgoing, sender))
