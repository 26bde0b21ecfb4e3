"""Unit tests of the link a staff message ends with: to its ticket, and none when the
notification names no ticket (rejected feedback that could not be matched to one)."""
from services.notify.courier import Courier

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
