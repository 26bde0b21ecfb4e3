"""Tickets whose category the liaison office changes, through routing's own paths: a
concern received as intake announces it (on the broker), then the office's dispatch
with another category over routing's API. For the category report's tests."""
import requests

from tests.support import events as made
from tests.support.services import wait_until

#: three concerns of one kind that the demo directory's keywords place nowhere
LEAKS = ["家里墙角一直漏水，天花板发霉", "卫生间漏水渗到墙面", "漏水把天花板泡坏了"]
#: one that they place in drainage
SEWER = "元岗路下水道堵塞，污水外溢"


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def receive(routing, keys, n, text):
    """A concern of baiyun without a category, routed; returns the ticket as routing shows it."""
    ticket_id = f"ZD20260302-{n:08d}"
    made.publish(*made.concern_events(ticket_id, category=None, title=None, description=text))
    return wait_until(lambda: _found(routing, keys, ticket_id), what=f"{ticket_id} routed")


def _found(routing, keys, ticket_id):
    answer = requests.get(f"{routing}/api/v1/tickets/{ticket_id}", headers=bearer(keys["admin"]),
                          timeout=5)
    return answer.json() if answer.status_code == 200 else None


def dispatch(routing, keys, ticket_id, category):
    """Baiyun's office dispatches the ticket to baiyun-water with ``category``; the answer."""
    return requests.post(f"{routing}/api/v1/tickets/{ticket_id}/actions", timeout=10,
                         headers=bearer(keys["congress:baiyun"]), json={
                             "action": "dispatch", "departments": {"lead": "baiyun-water", "assist": []},
                             "category": category})


def category_report(routing, key, **params):
    return requests.get(f"{routing}/api/v1/category-report", params=params, headers=bearer(key),
                        timeout=10)
