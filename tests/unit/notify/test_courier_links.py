"""Unit tests of the links a message carries: a staff message ends with its ticket's, none
when the notification names no ticket (rejected feedback that could not be matched to one);
a reporter's carries their concern's own page (``link``) while their contact holds its
page token, and none once it does not."""
import pytest

from services.notify import domain
from services.notify.courier import DEFAULT_REPORTER_LINK, Courier

LINK = "https://zd.example/workbench/tickets/{ticket_id}"
PARAMS = {"ticket_id": None, "title": None, "department": "conghua-water",
          "department_name": "从化区水务局", "dispatch": None, "reason": "unknown dispatch"}


def outgoing(ticket_id, recipient="office:conghua"):
    courier = Courier()
    courier.ticket_link = LINK
    row = {"channel": "email", "recipient": recipient, "address": "office@rd.conghua.example",
           "template": "feedback.rejected.office", "locale": "en", "ticket_id": ticket_id,
           "params": {**PARAMS, "ticket_id": ticket_id}, "idempotency_key": "key-1"}
    return courier._outgoing(row, None).message


def test_a_staff_message_of_a_ticket_links_it():
    assert outgoing("ZD20261122-344F89CF").text.endswith(
        "\n\nhttps://zd.example/workbench/tickets/ZD20261122-344F89CF")


def test_a_staff_message_naming_no_ticket_has_no_link():
    message = outgoing(None)
    assert message.text.endswith("Please check with the department.")
    assert "/tickets/" not in message.text + message.html and "None" not in message.text


REPORTER_LINK = "https://zd.example/c/{token}"
TOKEN = "Xq3-9fT_k2LmNoPq"
REPORTER_PARAMS = {"ticket_id": "ZD20261122-344F89CF", "title": "元岗路下水道堵塞",
                   "status": "resolved", "result": "已疏通", "resolved_at": None}


def reporter_outgoing(page_token, recipient="reporter", channel="sms"):
    courier = Courier()
    courier.ticket_link, courier.reporter_link = LINK, REPORTER_LINK
    row = {"channel": channel, "recipient": recipient, "address": "+8613900000000",
           "template": "ticket.resolved.reporter", "locale": "zh-CN",
           "ticket_id": "ZD20261122-344F89CF", "params": dict(REPORTER_PARAMS),
           "idempotency_key": "key-2", "page_token": page_token}
    return courier._outgoing(row, None)


@pytest.mark.parametrize("channel", ["sms", "wechat", "email"])
def test_a_reporter_message_carries_the_link_to_their_page(channel):
    outgoing = reporter_outgoing(TOKEN, channel=channel)
    page = f"https://zd.example/c/{TOKEN}"
    assert outgoing.params["link"] == page
    assert {key: outgoing.params[key] for key in REPORTER_PARAMS} == REPORTER_PARAMS
    assert page in outgoing.message.short and page in outgoing.message.text
    assert f'<a href="{page}"' in outgoing.message.html
    assert "/workbench/tickets/" not in outgoing.message.text + outgoing.message.html


@pytest.mark.parametrize("page_token", [None, ""])
def test_a_reporter_without_a_page_token_gets_no_link(page_token):
    outgoing = reporter_outgoing(page_token)
    assert "link" not in outgoing.params
    assert "/c/" not in outgoing.message.short + outgoing.message.text + outgoing.message.html


def test_staff_never_get_a_reporters_page():
    outgoing = reporter_outgoing(TOKEN, recipient="representative:rep-liu")
    assert "link" not in outgoing.params
    assert TOKEN not in repr(outgoing)


def test_the_page_token_is_quoted_into_the_link():
    assert domain.reporter_page_link(REPORTER_LINK, "a/b?c") == "https://zd.example/c/a%2Fb%3Fc"
    assert domain.reporter_page_link("", TOKEN) is None
    assert domain.reporter_page_link(REPORTER_LINK, {"token": TOKEN}) is None


def test_the_default_link_is_intakes_page_on_this_machine():
    assert Courier.reporter_link == DEFAULT_REPORTER_LINK == "http://127.0.0.1:8001/c/{token}"
    assert domain.reporter_page_link(DEFAULT_REPORTER_LINK, TOKEN) == \
        f"http://127.0.0.1:8001/c/{TOKEN}"
