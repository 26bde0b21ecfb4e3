"""The deadlines of the district policy (docs/reference.md#the-directory), enforced every minute.

- A representative who has not acted ``representative_hours`` after assignment is
  passed over: the ticket is forwarded to the office (and dispatched by the rules
  when the policy says so).
- An office that has not dispatched ``congress_hours`` after a ticket reached it is
  escalated, once (``ticket.escalated``).
- A lead dispatch past its ``due_at`` is flagged overdue for the office, once
  (``ticket.overdue``).
- A resolution the reporter (who asked for feedback) has not rated in
  ``RATING_REMINDER_DAYS`` days is announced as ``ticket.reminded``, once per resolution,
  so that notify reminds them (unless the office took their rating by phone meanwhile).
- A resolution the reporter has not rated in ``RATING_DAYS`` days closes the ticket.
- A concern that waited ``CONTACT_WAIT`` for its reporter's dispatch contact (which
  intake sends with it) is routed without it, rather than never.

Hours are working hours when the district has a calendar. ``enforce`` finds the rows
in SQL; each is then handled by its rule (``pass_over``, ``escalate``, ``flag_overdue``,
``close_unrated``, ``remind_to_rate``, ``route_without_contact``) in its own savepoint and step (one event),
so one that cannot be handled does not hold up the others; rows are locked with SKIP
LOCKED, so several routing instances share the work.
"""
import logging
from datetime import timedelta

from services.common.log_context import log_context
from services.common.tracebacks import traceback_without_text
from services.common.working_hours import add_working_hours, subtract_working_hours
from services.routing import store
from services.routing.use_cases import workflow
from services.routing.use_cases.step import Step
from services.routing.use_cases.workflow import Change, Note

log = logging.getLogger(__name__)
SYSTEM = workflow.SYSTEM
RATING_DAYS = 7
#: a reporter who has not rated a resolution by then is reminded, once (before it closes)
RATING_REMINDER_DAYS = 3
#: a concern waits this long for its dispatch contact (sent with it, so seconds at most)
CONTACT_WAIT = timedelta(minutes=10)


def enforce(conn, directory, now):
    """Act on every deadline passed at ``now``; returns how many of each."""
    def each(rows, rule):
        """``rule(step, row)`` for each row, each in its own savepoint and step."""
        def act(row):
            with Step.on(conn, directory) as step:
                rule(step, row)
        return _each(conn, rows, act)

    return {"passed_over": each(_waiting(conn, directory, now, "assigned"), pass_over),
            "escalated": each(_waiting(conn, directory, now, "forwarded"),
                              lambda step, ticket: escalate(step, ticket, now)),
            "overdue": each(store.overdue_dispatches(conn, now),
                            lambda step, row: flag_overdue(step, row, now)),
            "closed": each(store.waiting_tickets(conn, "resolved", now - timedelta(days=RATING_DAYS)),
                           close_unrated),
            # after the closing: a resolution that closes now is not reminded of as well
            "reminded": each(store.unreminded_resolutions(conn, now - timedelta(days=RATING_DAYS),
                                                          now - timedelta(days=RATING_REMINDER_DAYS)),
                             lambda step, ticket: remind_to_rate(step, ticket, now)),
            "routed_without_contact": each(
                store.release_stale_held_concerns(conn, now - CONTACT_WAIT), route_without_contact)}


def _waiting(conn, directory, now, status):
    """Tickets in ``status`` whose deadline (in their district's hours) has passed: chosen
    in SQL by each district's cutoff, so none waits behind tickets not yet due."""
    hours_key = "representative_hours" if status == "assigned" else "congress_hours"
    cutoffs = {code: subtract_working_hours(now, district["policy"][hours_key],
                                            district["policy"].get("calendar"),
                                            district["policy"]["timezone"])
               for code, district in directory["districts"].items()}
    if not cutoffs:
        return []
    return [ticket for ticket in store.due_tickets(conn, status, cutoffs)
            if _deadline(ticket["status_since"], directory["districts"][ticket["district"]]["policy"],
                         hours_key) <= now]


def takes_over_at(ticket, policy):
    """When the district's office takes ``ticket`` from its representative (``pass_over``):
    ``representative_hours`` after it was assigned, in the district's working hours; None
    when it is not waiting for its representative."""
    if ticket["status"] != "assigned" or ticket.get("representative_id") is None:
        return None
    return _deadline(ticket["status_since"], policy, "representative_hours")


def _deadline(since, policy, hours_key):
    return add_working_hours(since, policy[hours_key], policy.get("calendar"), policy["timezone"])


def _each(conn, rows, act):
    done = 0
    for row in rows:
        with log_context(ticket_id=row["ticket_id"]):
            try:
                with conn.transaction():
                    act(row)
                done += 1
            except Exception as exc:  # one ticket must not hold up every other deadline
                log.error("could not act on the deadline of ticket %s:\n%s", row["ticket_id"],
                          traceback_without_text(exc))
    return done


def pass_over(step, ticket):
    """The representative did not act in time: the office takes the ticket."""
    policy = step.policy(ticket["district"])
    ticket = workflow.change(step, ticket, Change(
        "forwarded", SYSTEM, "forward", f"the representative did not act within"
        f" {policy['representative_hours']} hours: passed to the office"))
    if policy["auto_dispatch"] and ticket["category"]:
        workflow.dispatch_by_rules(step, ticket)


def escalate(step, ticket, now):
    """The office did not dispatch in time: escalated, once."""
    policy = step.policy(ticket["district"])
    workflow.note(step, ticket, Note(SYSTEM, "escalate",
                                     f"not dispatched within {policy['congress_hours']} hours",
                                     event="escalated", fields={"escalated_at": now}))


def flag_overdue(step, row, now):
    """A lead dispatch past its due time: flagged for the office, once."""
    step.store.update_dispatch(row["dispatch_id"], overdue_at=now)
    workflow.note(step, step.store.find_ticket(row["ticket_id"]), Note(
        SYSTEM, "overdue", f"{row['department']} was due at {row['due_at'].isoformat()}",
        event="overdue"))


def route_without_contact(step, concern):
    """A concern never lost for want of its dispatch contact: routed without it."""
    log.warning("concern %s waited %s for its dispatch contact: routed without it",
                concern["ticket_id"], CONTACT_WAIT)
    workflow.receive_concern(step, concern)


def remind_to_rate(step, ticket, now):
    """A resolution not rated in ``RATING_REMINDER_DAYS``: its reporter is reminded, once
    (``reminded_at``, cleared when the status changes)."""
    workflow.note(step, ticket, Note(SYSTEM, "remind",
                                     f"not rated within {RATING_REMINDER_DAYS} days: the reporter"
                                     " is reminded to rate the result",
                                     event="reminded", fields={"reminded_at": now}))


def close_unrated(step, ticket):
    """A resolution not rated in time: closed."""
    workflow.change(step, ticket, Change("closed", SYSTEM, "close",
                                         f"not rated within {RATING_DAYS} days"))
