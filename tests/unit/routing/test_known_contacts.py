"""A step answers the dispatch contacts its use case read already without reading them
again; any other it reads from the store."""
from services.routing.use_cases.step import KnowingContacts


class CountingPort:
    def __init__(self):
        self.read = []

    def dispatch_contact(self, ticket_id):
        self.read.append(ticket_id)
        return {"name": "stored", "phone": "+8613900000000"}

    def find_ticket(self, ticket_id):
        return {"ticket_id": ticket_id}


def test_a_contact_read_already_is_not_read_again_and_another_is():
    port = CountingPort()
    known = {"name": "张三", "phone": "+8613912340001"}
    step_port = KnowingContacts(port, {"T-1": known})
    assert step_port.dispatch_contact("T-1") == known
    assert step_port.dispatch_contact("T-2")["name"] == "stored"
    assert port.read == ["T-2"]


def test_every_other_function_is_the_ports_own():
    assert KnowingContacts(CountingPort(), {}).find_ticket("T-3") == {"ticket_id": "T-3"}
