"""A fake of the port a workflow step uses (``services.routing.use_cases.step``): routing's
tables and outbox in memory, so that the rules run without PostgreSQL.

Each method does what the function of ``services.routing.store`` (or of the outbox) of
the same name does in SQL, for the rows the rules read back: a ticket row has every
column the table has, with the table's defaults; a timeline entry is stamped with the
clock (PostgreSQL stamps the transaction's start); ``open_counts`` counts the open
tickets instead of reading the load a trigger keeps. No locks: a unit test has one
transaction. ``test_workflow.test_the_fake_store_has_the_port_s_functions`` keeps the
names and parameters the same as the real ones.
"""
import copy
import math
from datetime import datetime
from itertools import combinations

from services.common import topology
from services.common.events import ACTIVE_DISPATCH_STATUSES
from services.routing import store

TICKET_DEFAULTS = {"version": 1, "community": None, "category": None, "title": None,
                   "location": None, "attachments": [], "representative_id": None,
                   "first_dispatched_at": None, "resolved_at": None, "result": None,
                   "reopen_count": 0, "escalated_at": None, "rating": None,
                   "rating_comment": None, "feedback_requested": False, "merged_into": None,
                   "words": [], "lat": None, "lon": None, "personal_data_expired_at": None,
                   "reminded_at": None}
TIME_COLUMNS = ("submitted_at", "received_at")
DISPATCH_DEFAULTS = {"status": "sent", "resolved_at": None, "result": None, "overdue_at": None}


class FakeStore:
    """Routing's tables and outbox in memory; ``now`` is the clock of the step."""

    def __init__(self, now):
        self.now = now
        self.tickets = {}  # ticket_id → row
        self.timelines = {}  # ticket_id → [entry]
        self.dispatch_records = []  # in the order inserted
        self.duplicate_links = {}  # ticket_id → link row
        self.dispatch_contacts = {}  # ticket_id → {name, phone}
        self.keyword_categories = {}  # ticket_id → the category chosen (None: none)
        self.category_choices = {}  # ticket_id → (category, decided by, model version, model's category)
        self.category_model = None  # the CategoryModel in use: None, the keywords alone
        self.recategorisations = []  # (ticket_id, from, to), in order
        self.follow_up_calls = {}  # (ticket_id, resolution) → call
        self.outbox = []  # {exchange, routing_key, type, body, message_id}, in order

    # --- tickets and their timelines

    def insert_ticket(self, ticket):
        if ticket["ticket_id"] in self.tickets:
            return None
        row = {**TICKET_DEFAULTS, **{column: ticket.get(column) for column in store.TICKET_COLUMNS}}
        for column in TIME_COLUMNS:  # PostgreSQL reads the ISO text of a concern as a moment
            if isinstance(row[column], str):
                row[column] = datetime.fromisoformat(row[column])
        row["status_since"] = row["received_at"]
        self.tickets[row["ticket_id"]] = row
        self.timelines[row["ticket_id"]] = []
        return copy.deepcopy(row)

    def find_ticket(self, ticket_id):
        return copy.deepcopy(self.tickets.get(ticket_id))

    def lock_ticket(self, ticket_id):
        return self.find_ticket(ticket_id)

    def lock_merged_into(self, ticket_id):
        return [copy.deepcopy(row) for _, row in sorted(self.tickets.items())
                if row["merged_into"] == ticket_id and row["status"] == "merged"]

    def update_ticket_with_entry(self, ticket_id, entry, **changes):
        row = self.tickets[ticket_id]
        row.update(changes, version=row["version"] + 1)
        return copy.deepcopy(row), self.add_timeline(ticket_id, **entry)

    def add_timeline(self, ticket_id, actor, action, from_status, to_status, note=None,
                     person=None):
        entry = {"at": self.now(), "actor": actor, "action": action, "from_status": from_status,
                 "to_status": to_status, "note": note,
                 "person_id": person.id if person else None,
                 "person_name": person.name if person else None}
        self.timelines[ticket_id].append(entry)
        return dict(entry)

    def timeline(self, ticket_id):
        return [dict(entry) for entry in self.timelines[ticket_id]]

    # --- what the keywords chose, and the office's changes of category

    def current_category_model(self):
        return self.category_model

    def record_category_choice(self, ticket_id, category, decided_by=None, model_version=None,
                               model_category=None):
        self.keyword_categories.setdefault(ticket_id, category)
        self.category_choices.setdefault(ticket_id, (category, decided_by, model_version, model_category))

    def record_recategorisation(self, ticket_id, from_category, to_category):
        self.recategorisations.append((ticket_id, from_category, to_category))

    # --- the office's follow-up calls

    def record_follow_up_call(self, call):
        key = (call["ticket_id"], call["resolution"])
        if key in self.follow_up_calls:
            return None
        self.follow_up_calls[key] = {column: call.get(column) for column in store.FOLLOW_UP_COLUMNS}
        return dict(self.follow_up_calls[key])

    # --- likely duplicates

    def duplicate_candidates(self, ticket, category, since, radius_m, limit=100):
        pairs = [set(pair) for pair in combinations(ticket["words"][:store.PAIRED_WORDS], 2)]
        found = [row for row in self.tickets.values()
                 if row["district"] == ticket["district"] and row["category"] == category
                 and row["status"] in store.OPEN_STATUSES and row["received_at"] >= since
                 and row["ticket_id"] != ticket["ticket_id"]
                 and any(pair <= set(row["words"]) for pair in pairs)
                 and _nearby(ticket, row, radius_m)]
        found.sort(key=lambda row: row["received_at"], reverse=True)
        return [{**{key: row[key] for key in ("ticket_id", "words", "lat", "lon", "received_at")},
                 "original_id": self._open_original(row["ticket_id"])} for row in found[:limit]]

    def _open_original(self, ticket_id):
        link = self.duplicate_links.get(ticket_id)
        original = link and self.tickets[link["original_id"]]
        return original["ticket_id"] if original and original["status"] in store.OPEN_STATUSES \
            else None

    def link_duplicate(self, ticket_id, match):
        self.duplicate_links[ticket_id] = {
            "ticket_id": ticket_id, "original_id": match.ticket_id, "score": match.score,
            "shared_words": list(match.shared_words), "distance_m": match.distance_m,
            "linked_at": self.now()}

    def likely_original(self, ticket_id):
        link = self.duplicate_links.get(ticket_id)
        return link["original_id"] if link else None

    # --- representatives, dispatches, contacts

    def open_counts(self, representative_ids):
        return {rep_id: sum(1 for row in self.tickets.values() if row["representative_id"] == rep_id
                            and row["status"] in store.OPEN_STATUSES)
                for rep_id in sorted(set(representative_ids))}

    def insert_dispatch(self, dispatch):
        self.dispatch_records.append({**DISPATCH_DEFAULTS, **dispatch})

    def dispatch(self, dispatch_id):
        return copy.deepcopy(next((record for record in self.dispatch_records
                                   if record["dispatch_id"] == dispatch_id), None))

    def update_dispatch(self, dispatch_id, **changes):
        next(record for record in self.dispatch_records
             if record["dispatch_id"] == dispatch_id).update(changes)

    def withdraw_active_dispatches(self, ticket_id):
        for record in self.dispatch_records:
            if record["ticket_id"] == ticket_id and record["status"] in ACTIVE_DISPATCH_STATUSES:
                record["status"] = "withdrawn"

    def dispatches_of(self, ticket_id):
        """``store.dispatches``: by dispatch time, a lead before its assists."""
        return sorted((copy.deepcopy(record) for record in self.dispatch_records
                       if record["ticket_id"] == ticket_id),
                      key=lambda record: (record["dispatched_at"], record["role"] != "lead"))

    def dispatches_and_timeline(self, ticket_id):
        return self.dispatches_of(ticket_id), self.timeline(ticket_id)

    def dispatch_contact(self, ticket_id):
        return copy.deepcopy(self.dispatch_contacts.get(ticket_id))

    # --- the outbox

    def emit(self, exchange, routing_key, message_type, body, message_id=None, headers=None):
        self.outbox.append({"exchange": exchange, "routing_key": routing_key, "type": message_type,
                            "body": copy.deepcopy(body), "message_id": message_id})
        return message_id

    def emit_events(self, *events):
        for event in events:
            if event is not None:
                self.emit(topology.EVENTS.name, event.type, event.type, event.body, event.message_id)


def _nearby(ticket, row, radius_m):
    """``duplicate_candidates``' place: within the box around the ticket's point, or without
    one; the same community when the ticket has no point but a community."""
    if ticket["lat"] is None:
        return ticket["community"] is None or row["community"] == ticket["community"]
    if row["lat"] is None:
        return True
    dlat = radius_m / store.METRES_PER_DEGREE
    dlon = radius_m / (store.METRES_PER_DEGREE * max(0.01, math.cos(math.radians(ticket["lat"]))))
    return abs(row["lat"] - ticket["lat"]) <= dlat and abs(row["lon"] - ticket["lon"]) <= dlon
