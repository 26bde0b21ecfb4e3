"""A ticket's life for the consumers' tests: steps in, events out, through the producers'
own code.

``TicketLife`` keeps a ticket as routing stores it (its row, dispatches and timeline,
shaped by ``tests.support.events``) and moves it step by step as routing's workflow
does: the same transitions (``services.routing.domain.check_transition``), the same
choice of representative and department and due time, one version more per change.
Each step's event is built by its producer's code: the concern's by intake's
(``services.common.events``), a rating by intake's ``concern_rated``, each
``ticket.<change>`` by routing's (``services.routing.snapshots`` and
``services.common.events.ticket_changed``). One step is one event, as in routing;
``step()`` groups changes made at once (a forward and the dispatch the office's rules
make of it) into one event named by the last, with every change in it::

    hour = lambda n: received + timedelta(hours=n)
    life = TicketLife(directory, "HT-1", received)      # concern.received
    life.assigned(hour(1))                              # ticket.assigned
    with life.step():                                   # ticket.dispatched, two changes
        life.forwarded(hour(2)).dispatched(hour(2))
    life.resolved(hour(30))                             # ticket.resolved
    life.rated(hour(40), "satisfied").closed(hour(40))  # concern.rated, ticket.closed
    made.publish(*life.events)
"""
from contextlib import contextmanager

from services.common import events
from services.routing import domain, snapshots
from services.routing.use_cases.step import Person
from tests.support import events as made

SYSTEM = events.SYSTEM_ACTOR
REPORTER = "reporter"
#: parties whose staff act in the workbench: their entries name the person, as routing's do
#: when one signed in (consumers read ``actor`` and must take ``person`` beside it)
STAFFED = ("representative", "congress", "department")
#: what routing keeps of a concern in the ticket's row
CONCERN_COLUMNS = ("district", "community", "channel", "category", "title", "description",
                   "location", "attachments")


class TicketLife:
    """One ticket from its concern on; ``events`` are what its producers emitted so far."""

    def __init__(self, directory, ticket_id, received_at, reporter=None, **concern):
        self.directory = directory
        self.events = made.concern_events(ticket_id, received_at, reporter, **concern)
        self.concern_events = tuple(self.events)
        row = made.concern_row(ticket_id, received_at, reporter, **concern)
        self.ticket = made.ticket_row(ticket_id, "received", 1, received_at, representative=None,
                                      feedback_requested=events.wants_feedback(reporter),
                                      **{key: row[key] for key in CONCERN_COLUMNS})
        self.dispatches = []
        self.timeline = [made.entry(received_at, f"channel:{row['channel']}", "receive", None,
                                    "received", row["title"])]
        self._rating = None    # given by the reporter, not yet recorded by routing
        self._changes = None   # the open step's (change, entry) pairs

    @property
    def ticket_id(self):
        return self.ticket["ticket_id"]

    @property
    def policy(self):
        return self.directory["districts"][self.ticket["district"]]["policy"]

    def ticket_events(self, change):
        """The ``ticket.<change>`` events of this life, oldest first."""
        return [event for event in self.events if event.type == events.ticket_event(change)]

    def event(self, change):
        """The latest ``ticket.<change>`` event of this life."""
        return self.ticket_events(change)[-1]

    @contextmanager
    def step(self):
        """The changes made inside are one step of the workflow: one event, at the end."""
        if self._changes is not None:  # inside a step already: that one announces
            yield self
            return
        self._changes = []
        try:
            yield self
            changes = self._changes
        finally:
            self._changes = None
        if changes:
            self._announce(changes)

    # routing's steps

    def assigned(self, at, representative=None, by=SYSTEM, category=None):
        """To ``representative``, else to whom routing's rules choose (the community's
        liaison station first); a party other than the system reassigns. A concern
        without a category gets ``category`` (routing's keywords would find it)."""
        reason = "named by the reporter"
        if representative is None:
            representative, reason = domain.choose_representative(
                self.directory, self.ticket["district"], self.ticket["community"], None,
                lambda representatives: {})
        name = self.directory["representatives"][representative]["name"]
        return self._change(at, "assigned", by, "assign" if by == SYSTEM else "reassign",
                            f"{name} ({representative}): {reason}",
                            representative_id=representative,
                            category=self.ticket["category"] or category)

    def forwarded(self, at, by=None, note=None):
        """To the liaison office, by the ticket's representative (the system when it has
        none: a representative passed over)."""
        representative = self._representative()
        by = by or (f"representative:{representative}" if representative else SYSTEM)
        return self._change(at, "forwarded", by, "forward", note)

    def dispatched(self, at, department=None, due=None, assists=(), by=SYSTEM, note=None):
        """To ``department`` as lead (else the one routing's category rules choose), with
        ``assists``; each due when the department's hours end, unless ``due`` is given."""
        department = department or domain.choose_department(
            self.directory, self.ticket["district"], self.ticket["category"])
        for role, code in [("lead", department), *(("assist", code) for code in assists)]:
            hours = self.directory["departments"][code]["due_hours"]
            self.dispatches.append(made.dispatch_row(
                self.ticket_id, code, at, role=role,
                due_at=due or domain.due_at(at, hours, self.policy),
                dispatch_id=f"{self.ticket_id}-d{len(self.dispatches) + 1}"))
        return self._change(at, "dispatched", by, "dispatch", note or f"dispatched to {department}",
                            first_dispatched_at=self.ticket["first_dispatched_at"] or at)

    def in_progress(self, at, feedback="in_progress", note=None):
        """The lead department reports progress (``acknowledged`` or ``in_progress``)."""
        lead = self._set_lead(status=feedback)
        return self._change(at, "in_progress", f"department:{lead['department']}", feedback, note)

    def resolved(self, at, result="疏通完毕", by=None):
        """By the lead department holding the ticket, else by its representative."""
        if self._active_lead() is not None:
            by = by or f"department:{self._set_lead(status='resolved', resolved_at=at)['department']}"
        by = by or f"representative:{self._representative()}"
        return self._change(at, "resolved", by, "resolve", result, result=result,
                            resolved_at=self.ticket["resolved_at"] or at)

    def returned(self, at, feedback="rejected", note=None):
        """The lead department hands the ticket back (``rejected`` or
        ``transfer_requested``): back with the office, every active dispatch withdrawn."""
        lead = self._set_lead(status=feedback)
        self.dispatches = [dict(record, status="withdrawn")
                           if record["status"] in events.ACTIVE_DISPATCH_STATUSES else record
                           for record in self.dispatches]
        return self._change(at, "forwarded", f"department:{lead['department']}", feedback,
                            note or f"{lead['department']} handed the ticket back",
                            event="returned")

    def closed(self, at):
        """Closed by routing: with the reporter's rating given (``rated``), else unrated."""
        if self._rating is None:
            return self._change(at, "closed", SYSTEM, "close", "not rated in time")
        note, columns = self._recorded_rating()
        return self._change(at, "closed", REPORTER, "rate", note, **columns)

    def reopened(self, at):
        """The reporter's ``unsatisfied`` rating sends the ticket back to the office."""
        note, columns = self._recorded_rating()
        return self._change(at, "forwarded", REPORTER, "rate", f"{note}: reopened",
                            reopen_count=self.ticket["reopen_count"] + 1, **columns)

    def merged(self, at, into, by=SYSTEM):
        return self._change(at, "merged", by, "merge", f"merged into {into}", merged_into=into)

    def rejected(self, at, reason="不属于代表联络事项", by=None):
        return self._change(at, "rejected", by or f"congress:{self.ticket['district']}",
                            "reject", reason)

    def escalated(self, at, note=None, by=SYSTEM):
        """The office did not dispatch in time (no status changes)."""
        return self._note(at, by, "escalate",
                          note or f"not dispatched within {self.policy['congress_hours']} hours",
                          "escalated")

    # intake's steps

    def rated(self, at, rating, comment=None):
        """The reporter rates the latest resolution: ``concern.rated`` from intake. Routing
        records the rating with its answer, ``closed`` or ``reopened``."""
        self.events.append(events.concern_rated(self.ticket_id, self.ticket["reopen_count"],
                                                rating, comment, at))
        self._rating = (rating, comment)
        return self

    # how routing changes its rows

    def _change(self, at, to_status, actor, action, note=None, event=None, **columns):
        domain.check_transition(self.ticket["status"], to_status)
        if to_status != self.ticket["status"]:
            columns.update(status=to_status, status_since=at)
        return self._note(at, actor, action, note, event or to_status, to_status, **columns)

    def _note(self, at, actor, action, note, event, to_status=None, **columns):
        entry = made.entry(at, actor, action, self.ticket["status"],
                           to_status or self.ticket["status"], note, person=_person_of(actor))
        self.ticket = {**self.ticket, **columns, "version": self.ticket["version"] + 1}
        self.timeline.append(entry)
        if self._changes is None:
            self._announce([(event, entry)])
        else:
            self._changes.append((event, entry))
        return self

    def _announce(self, changes):
        snapshot = snapshots.ticket_snapshot(self.ticket, self.dispatches, self.timeline,
                                             self.directory)
        self.events.append(events.ticket_changed(
            snapshot, [(change, snapshots.timeline_entry(entry)) for change, entry in changes]))

    def _recorded_rating(self):
        (rating, comment), self._rating = self._rating, None
        note = f"{rating}: {comment or ''}".strip(": ")
        return note, {"rating": rating, "rating_comment": comment}

    def _representative(self):
        return self.ticket["representative_id"]

    def _active_lead(self):
        active = [record for record in self.dispatches if record["role"] == "lead"
                  and record["status"] in events.ACTIVE_DISPATCH_STATUSES]
        return active[-1] if active else None

    def _set_lead(self, **columns):
        """Set ``columns`` on the active lead dispatch; returns it as it is now."""
        lead = self._active_lead()
        changed = dict(lead, **columns)
        self.dispatches = [changed if record is lead else record for record in self.dispatches]
        return changed


def _person_of(actor):
    """The staff member who acts for a staffed party in these lives, or None."""
    role, _, scope = actor.partition(":")
    return Person(f"staff-{scope}", "值班员") if role in STAFFED else None
