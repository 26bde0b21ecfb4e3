"""SQL of the routing schema: tickets, dispatches, timeline entries, and the reporters'
dispatch contacts (read only to build a department's dispatch message)."""
import math
import os
import time
from itertools import combinations

from psycopg.types.json import Jsonb

from services.common.events import ACTIVE_DISPATCH_STATUSES, SYSTEM_ACTOR
from services.common.sql import insert_sql, row_values
from services.common.transaction_keeps import kept_for_transaction
from services.routing.learning.model import CategoryModel

TICKET_COLUMNS = ("ticket_id", "status", "district", "community", "channel", "category",
                  "title", "description", "location", "attachments", "feedback_requested",
                  "submitted_at", "received_at", "status_since", "words", "lat", "lon")
JSON_COLUMNS = {"location", "attachments"}
METRES_PER_DEGREE = 111_195  # of latitude, and of longitude at the equator
PAIRED_WORDS = 8  # a concern's first words paired for the candidate search (28 pairs)
OPEN_STATUSES = ("received", "assigned", "forwarded", "dispatched", "in_progress")


def insert_ticket(conn, ticket):
    """A new ticket, as stored (locked by this transaction until it ends); None when it
    exists already (the concern came twice)."""
    return conn.execute(
        insert_sql("tickets", TICKET_COLUMNS, "ON CONFLICT (ticket_id) DO NOTHING RETURNING *"),
        row_values({**ticket, "status_since": ticket["received_at"]}, TICKET_COLUMNS, JSON_COLUMNS)
    ).fetchone()


#: open statuses spelled as the partial indexes of tickets have them, so that the planner
#: can use them
_OPEN_SQL = "status IN ('received', 'assigned', 'forwarded', 'dispatched', 'in_progress')"


def duplicate_candidates(conn, ticket, category, since, radius_m, limit=100):
    """The open tickets of ``ticket``'s district and ``category`` received since ``since``
    that share at least two of its words (``duplicates.MIN_SHARED_WORDS``) and, when it
    has a point, lie within ``radius_m`` of it (as a box) or have none; without a point,
    those of its community (when it names one); newest first, with the open ticket each
    is itself linked to (``original_id``)."""
    pairs = [list(pair) for pair in combinations(ticket["words"][:PAIRED_WORDS], 2)]
    if not pairs:
        return []
    shared = "(" + " OR ".join(["t.words @> %s::text[]"] * len(pairs)) + ")"
    common = (f"t.district = %s AND t.category = %s AND t.{_OPEN_SQL} AND {shared}"
              " AND t.received_at >= %s AND t.ticket_id <> %s")
    params = [ticket["district"], category, *pairs, since, ticket["ticket_id"]]
    if ticket["lat"] is None and ticket["community"] is not None:  # its community is its place
        branches, arguments = [f"{common} AND t.community = %s"], [*params, ticket["community"]]
    elif ticket["lat"] is None:
        branches, arguments = [common], params
    else:
        dlat = radius_m / METRES_PER_DEGREE
        dlon = radius_m / (METRES_PER_DEGREE * max(0.01, math.cos(math.radians(ticket["lat"]))))
        box = [ticket["lat"] - dlat, ticket["lat"] + dlat, ticket["lon"] - dlon, ticket["lon"] + dlon]
        branches = [f"{common} AND t.lat IS NOT NULL AND t.lat BETWEEN %s AND %s"
                    " AND t.lon BETWEEN %s AND %s", f"{common} AND t.lat IS NULL"]
        arguments = [*params, *box, *params]
    selected = ("SELECT t.ticket_id, t.words, t.lat, t.lon, t.received_at, o.ticket_id AS original_id"
                " FROM tickets t LEFT JOIN duplicate_links l ON l.ticket_id = t.ticket_id"
                f" LEFT JOIN tickets o ON o.ticket_id = l.original_id AND o.{_OPEN_SQL} WHERE ")
    query = " UNION ALL ".join(f"({selected}{where})" for where in branches)
    return conn.execute(f"{query} ORDER BY received_at DESC LIMIT %s", [*arguments, limit]).fetchall()


def lock_merged_into(conn, ticket_id):
    """The tickets merged into ``ticket_id``, locked, in id order."""
    return conn.execute("SELECT * FROM tickets WHERE merged_into = %s AND status = 'merged'"
                        " ORDER BY ticket_id FOR UPDATE", (ticket_id,)).fetchall()


def link_duplicate(conn, ticket_id, match):
    conn.execute("INSERT INTO duplicate_links (ticket_id, original_id, score, shared_words,"
                 " distance_m) VALUES (%s, %s, %s, %s, %s)",
                 (ticket_id, match.ticket_id, match.score, list(match.shared_words),
                  match.distance_m))


def likely_original(conn, ticket_id):
    """The ticket ``ticket_id`` was linked to as a likely duplicate, or None."""
    row = conn.execute("SELECT original_id FROM duplicate_links WHERE ticket_id = %s",
                       (ticket_id,)).fetchone()
    return row["original_id"] if row else None


def duplicate_links(conn, ticket_id):
    """``(the link of ticket_id to its original or None, the links of its duplicates)``."""
    rows = conn.execute(
        "SELECT ticket_id, original_id, score, shared_words, distance_m, linked_at"
        " FROM duplicate_links WHERE ticket_id = %s OR original_id = %s ORDER BY linked_at, ticket_id",
        (ticket_id, ticket_id)).fetchall()
    own = next((row for row in rows if row["ticket_id"] == ticket_id), None)
    return own, [row for row in rows if row["original_id"] == ticket_id]


def find_ticket(conn, ticket_id):
    return conn.execute("SELECT * FROM tickets WHERE ticket_id = %s", (ticket_id,)).fetchone()


def lock_ticket(conn, ticket_id):
    return conn.execute("SELECT * FROM tickets WHERE ticket_id = %s FOR UPDATE",
                        (ticket_id,)).fetchone()


ENTRY_COLUMNS = ("at", "actor", "action", "from_status", "to_status", "note", "person_id",
                 "person_name")


def _person_columns(person):
    """The timeline's ``person_id`` and ``person_name`` of a ``step.Person``, or None."""
    return {"person_id": person.id if person else None,
            "person_name": person.name if person else None}


def update_ticket_with_entry(conn, ticket_id, entry, **changes):
    """Set columns, bump the version and add a timeline entry (``entry``: actor, action,
    from_status, to_status, note, and the acting ``person`` when there is one), in one
    round trip; returns the new row and the entry as stored."""
    entry = {**{column: value for column, value in entry.items() if column != "person"},
             **_person_columns(entry.get("person"))}
    assignments = [f"{column} = %({column})s" for column in changes] + ["version = version + 1"]
    found = conn.execute(
        f"WITH updated AS (UPDATE tickets SET {', '.join(assignments)}"
        "  WHERE ticket_id = %(ticket_id)s RETURNING *),"
        " entry AS (INSERT INTO timeline (ticket_id, actor, action, from_status, to_status, note,"
        "  person_id, person_name)"
        "  VALUES (%(ticket_id)s, %(entry_actor)s, %(entry_action)s, %(entry_from_status)s,"
        "  %(entry_to_status)s, %(entry_note)s, %(entry_person_id)s, %(entry_person_name)s)"
        "  RETURNING " + ", ".join(f"{column} AS entry_{column}" for column in ENTRY_COLUMNS) + ")"
        " SELECT * FROM updated, entry",
        {**changes, "ticket_id": ticket_id,
         **{f"entry_{column}": value for column, value in entry.items()}}).fetchone()
    stored = {column: found.pop(f"entry_{column}") for column in ENTRY_COLUMNS}
    return found, stored


def add_timeline(conn, ticket_id, actor, action, from_status, to_status, note=None, person=None):
    """Add an entry to the ticket's timeline (naming the acting ``person``, if any). Nothing
    is read back: in a pipeline (a batch of routing's events) it goes with the next
    statement whose answer is read."""
    conn.execute(
        "INSERT INTO timeline (ticket_id, actor, action, from_status, to_status, note,"
        " person_id, person_name) VALUES (%(ticket_id)s, %(actor)s, %(action)s, %(from_status)s,"
        " %(to_status)s, %(note)s, %(person_id)s, %(person_name)s)",
        {"ticket_id": ticket_id, "actor": actor, "action": action, "from_status": from_status,
         "to_status": to_status, "note": note, **_person_columns(person)})


TIMELINE_SQL = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM timeline WHERE ticket_id = %s ORDER BY id"
DISPATCHES_SQL = "SELECT * FROM dispatches WHERE ticket_id = %s ORDER BY dispatched_at, role DESC"


def timeline(conn, ticket_id):
    return conn.execute(TIMELINE_SQL, (ticket_id,)).fetchall()


def record_category_choice(conn, ticket_id, category, decided_by=None, model_version=None,
                           model_category=None):
    """What chose the first category of a ticket that came without one: ``category`` (None:
    none), ``decided_by`` (keywords, model, keywords and model; None: nothing), and with a
    model its version and its best category, chosen or not."""
    conn.execute("INSERT INTO keyword_categories (ticket_id, category, decided_by, model_version,"
                 " model_category) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (ticket_id) DO NOTHING",
                 (ticket_id, category, decided_by, model_version, model_category))


def record_recategorisation(conn, ticket_id, from_category, to_category):
    """The liaison office changed the ticket's category (``from_category`` None: it had none)."""
    conn.execute("INSERT INTO recategorisations (ticket_id, from_category, to_category)"
                 " VALUES (%s, %s, %s)", (ticket_id, from_category, to_category))


def category_changes(conn, days):
    """What the category report counts over the last ``days``: ``({ticket_id: the category
    chosen, or None}, [(the ticket's words, from category or None, to category)] of the
    office's changes, in the order made)``."""
    with conn.pipeline():
        chosen = conn.execute("SELECT ticket_id, category FROM keyword_categories"
                              " WHERE at >= now() - make_interval(days => %s)", (days,))
        changes = conn.execute(
            "SELECT t.words, r.from_category, r.to_category FROM recategorisations r"
            " JOIN tickets t USING (ticket_id) WHERE r.at >= now() - make_interval(days => %s)"
            " ORDER BY r.id", (days,))
    return ({row["ticket_id"]: row["category"] for row in chosen.fetchall()},
            [(row["words"], row["from_category"], row["to_category"]) for row in changes.fetchall()])


def model_choices(conn, days):
    """``[(the model's best category, the ticket's category now or None)]`` of the tickets
    a model scored in the last ``days``, for the model's confusions."""
    return [(row["model_category"], row["category"]) for row in conn.execute(
        "SELECT k.model_category, t.category FROM keyword_categories k JOIN tickets t USING (ticket_id)"
        " WHERE k.model_category IS NOT NULL AND k.at >= now() - make_interval(days => %s)",
        (days,)).fetchall()]


#: the tickets whose category the liaison office confirmed or corrected (``corrected``: it
#: changed one chosen before, not only gave one to a ticket that had none): it changed the
#: category, or dispatched the ticket by hand, or a department resolved what was dispatched
LABELLED_TICKETS_SQL = """
    SELECT t.ticket_id, concat_ws(' ', t.title, t.description) AS text, t.category,
           EXISTS (SELECT 1 FROM recategorisations r WHERE r.ticket_id = t.ticket_id
                   AND r.from_category IS NOT NULL) AS corrected
    FROM tickets t
    WHERE t.category IS NOT NULL AND t.received_at >= now() - make_interval(days => %(days)s)
      AND t.status <> 'merged'
      AND (EXISTS (SELECT 1 FROM recategorisations r WHERE r.ticket_id = t.ticket_id)
           OR EXISTS (SELECT 1 FROM timeline e WHERE e.ticket_id = t.ticket_id
                      AND e.action = 'dispatch' AND e.actor <> %(system)s)
           OR (t.first_dispatched_at IS NOT NULL AND t.status IN ('resolved', 'closed')))
    ORDER BY t.received_at, t.ticket_id
"""


def labelled_tickets(conn, days):
    """``[{ticket_id, text, category, corrected}]`` of the tickets received in the last
    ``days`` whose category the office confirmed or corrected: what the model learns from."""
    return conn.execute(LABELLED_TICKETS_SQL, {"days": days, "system": SYSTEM_ACTOR}).fetchall()


#: how long a routing process chooses with the model it read before asking the database
#: again: a new model (or none, once retired) is in use in every instance within this
#: time, and at once in the instance that trained or retired it (``forget_category_model``)
MODEL_CHECK_SECONDS = float(os.environ.get("ZD_CATEGORY_MODEL_SECONDS", "5"))


def current_category_model(conn):
    """The category model in use (a ``CategoryModel``: the newest not retired), or None:
    the keywords alone decide. Asked of the database at most every
    ``MODEL_CHECK_SECONDS`` a process, so that a batch of concerns costs no round trip
    for it; a model's body is read once."""
    database = conn.info.dsn
    checked_at, model, identity = _in_use.get(database, (None, None, None))
    now = time.monotonic()
    if checked_at is not None and now - checked_at < MODEL_CHECK_SECONDS:
        return model
    row = conn.execute("SELECT version, uploaded_at FROM category_models"
                       " WHERE retired_at IS NULL ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        model = identity = None
    elif identity != (row["version"], row["uploaded_at"]):
        # a version number comes back after the table is emptied (a restored or reset
        # database): the time it was uploaded tells its body from the one kept
        body = conn.execute("SELECT body FROM category_models WHERE version = %s",
                            (row["version"],)).fetchone()["body"]
        model, identity = CategoryModel(body, version=row["version"]), (row["version"], row["uploaded_at"])
    _in_use[database] = (now, model, identity)
    return model


def forget_category_model():
    """The next ``current_category_model`` asks the database: after this process trained
    or retired a model, and committed."""
    _in_use.clear()


_in_use = {}  # database → (when checked, CategoryModel or None, (version, uploaded_at))


def save_category_model(conn, body, uploaded_by):
    """Store a trained model's ``body``; the new one is in use at once. Its row, without
    the body."""
    return conn.execute(
        "INSERT INTO category_models (trained_at, uploaded_by, examples, body)"
        " VALUES (%s, %s, %s, %s) RETURNING " + CATEGORY_MODEL_COLUMNS,
        (body["trained_at"], uploaded_by, body["examples"]["total"], Jsonb(body))).fetchone()


def retire_category_models(conn):
    """No model is used any more: the keywords alone decide. How many were retired."""
    return conn.execute("UPDATE category_models SET retired_at = now()"
                        " WHERE retired_at IS NULL").rowcount


CATEGORY_MODEL_COLUMNS = ("version, trained_at, uploaded_at, uploaded_by, examples, retired_at,"
                          " body -> 'evaluation' AS evaluation")


def category_models(conn):
    """Every model uploaded, the newest first, without their bodies."""
    return conn.execute(f"SELECT {CATEGORY_MODEL_COLUMNS} FROM category_models"
                        " ORDER BY version DESC").fetchall()


def open_counts(conn, representative_ids):
    """Open tickets of each of these representatives, their rows locked until the
    transaction ends: two concerns cannot both take a representative's last place
    (``max_open``), while concerns for other representatives go on at once. The counts
    are kept by a trigger on tickets (migration 0006). The rows ``lock_with_first_count``
    set aside are locked with them, in one order."""
    kept = kept_for_transaction(conn)
    set_aside = kept.pop(LOCKED_WITH_FIRST_COUNT, set()) if kept is not None else set()
    ids = sorted(set(representative_ids) | set_aside)
    counts = _locked_load(conn, ids)
    if len(counts) < len(ids):  # a representative's first ticket: a row to lock first
        conn.execute("INSERT INTO representative_load (representative_id)"
                     " SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (ids,))
        counts = _locked_load(conn, ids)
    return counts


LOCKED_WITH_FIRST_COUNT = "representatives locked with the first count"


def lock_with_first_count(conn, representative_ids):
    """Lock these representatives' rows with the transaction's first ``open_counts``, in
    the same statement and one order, rather than now: the work before it (the inbox,
    the ticket, its timeline) is not done holding them. Locked now when the transaction
    keeps nothing (``kept_for_transaction``)."""
    kept = kept_for_transaction(conn)
    if kept is None:
        open_counts(conn, representative_ids)
    else:
        kept.setdefault(LOCKED_WITH_FIRST_COUNT, set()).update(representative_ids)


def _locked_load(conn, ids):
    rows = conn.execute("SELECT representative_id, open FROM representative_load"
                        " WHERE representative_id = ANY(%s) ORDER BY representative_id"
                        " FOR UPDATE", (ids,)).fetchall()
    return {row["representative_id"]: row["open"] for row in rows}


def insert_dispatch(conn, dispatch):
    conn.execute(
        "INSERT INTO dispatches (dispatch_id, ticket_id, department, role, note,"
        " dispatched_at, due_at) VALUES (%(dispatch_id)s, %(ticket_id)s, %(department)s,"
        " %(role)s, %(note)s, %(dispatched_at)s, %(due_at)s)", dispatch)


def dispatches(conn, ticket_id):
    return conn.execute(DISPATCHES_SQL, (ticket_id,)).fetchall()


def dispatches_and_timeline(conn, ticket_id):
    """``dispatches(...)`` and ``timeline(...)`` of a ticket, read in one round trip."""
    with conn.pipeline():
        found_dispatches = conn.execute(DISPATCHES_SQL, (ticket_id,))
        found_timeline = conn.execute(TIMELINE_SQL, (ticket_id,))
    return found_dispatches.fetchall(), found_timeline.fetchall()


def dispatch(conn, dispatch_id):
    return conn.execute("SELECT * FROM dispatches WHERE dispatch_id = %s",
                        (dispatch_id,)).fetchone()


def update_dispatch(conn, dispatch_id, **changes):
    assignments = ", ".join(f"{column} = %({column})s" for column in changes)
    conn.execute(f"UPDATE dispatches SET {assignments} WHERE dispatch_id = %(dispatch_id)s",
                 {**changes, "dispatch_id": dispatch_id})


def withdraw_active_dispatches(conn, ticket_id):
    conn.execute("UPDATE dispatches SET status = 'withdrawn' WHERE ticket_id = %s"
                 " AND status = ANY(%s)", (ticket_id, list(ACTIVE_DISPATCH_STATUSES)))


def lock_concern(conn, ticket_id):
    """A concern and its dispatch contact are applied one at a time (until commit)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"concern:{ticket_id}",))


def save_dispatch_contact(conn, ticket_id, reporter):
    conn.execute("INSERT INTO dispatch_contacts (ticket_id, name, phone) VALUES (%s, %s, %s)"
                 " ON CONFLICT (ticket_id) DO NOTHING",
                 (ticket_id, reporter.get("name"), reporter.get("phone")))


def dispatch_contact(conn, ticket_id):
    """``{name, phone}`` for a department's dispatch, or None."""
    return conn.execute("SELECT name, phone FROM dispatch_contacts WHERE ticket_id = %s",
                        (ticket_id,)).fetchone()


def hold_concern(conn, concern):
    conn.execute("INSERT INTO held_concerns (ticket_id, concern) VALUES (%s, %s)"
                 " ON CONFLICT (ticket_id) DO NOTHING", (concern["ticket_id"], Jsonb(concern)))


def release_stale_held_concerns(conn, held_before, limit=50):
    """Concerns that waited since before ``held_before`` for a contact that never came;
    they wait no more."""
    rows = conn.execute(
        "DELETE FROM held_concerns WHERE ticket_id IN (SELECT ticket_id FROM held_concerns"
        " WHERE held_at <= %s ORDER BY held_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING concern", (held_before, limit)).fetchall()
    return [row["concern"] for row in rows]


def release_held_concern(conn, ticket_id):
    """The concern that waited for its dispatch contact, or None; it waits no more."""
    row = conn.execute("DELETE FROM held_concerns WHERE ticket_id = %s RETURNING concern",
                       (ticket_id,)).fetchone()
    return row["concern"] if row else None


def last_lead_department(conn, ticket_id):
    row = conn.execute("SELECT department FROM dispatches WHERE ticket_id = %s AND role = 'lead'"
                       " ORDER BY dispatched_at DESC LIMIT 1", (ticket_id,)).fetchone()
    return row["department"] if row else None


#: the current lead dispatch of ticket ``t``
LEAD_SQL = ("LEFT JOIN LATERAL (SELECT department, due_at FROM dispatches WHERE ticket_id = t.ticket_id"
            " AND role = 'lead' ORDER BY dispatched_at DESC LIMIT 1) lead ON true")
OVERDUE_SQL = "(lead.due_at < now() AND t.status IN ('dispatched', 'in_progress'))"
UNDECIDED_SQL = "(t.status = 'forwarded' AND t.category IS NULL)"
#: an open ticket linked as a likely duplicate of an open one, not merged yet
DUPLICATE_SQL = (f"(t.{_OPEN_SQL} AND EXISTS (SELECT 1 FROM duplicate_links l JOIN tickets o"
                 f" ON o.ticket_id = l.original_id WHERE l.ticket_id = t.ticket_id AND o.{_OPEN_SQL}))")
#: what each filter that is a property of the ticket selects
PROPERTY_FILTERS = {"overdue": OVERDUE_SQL, "undecided": UNDECIDED_SQL, "duplicates": DUPLICATE_SQL}
SORTS = {"newest": "t.received_at DESC, t.ticket_id",
         # the lead department's due time first, then the longest waiting in its status
         "due": "lead.due_at ASC NULLS LAST, t.status_since ASC, t.ticket_id"}


def _scope_clauses(filters):
    """The WHERE clauses of the scope's filters: district, representative, department,
    category, community."""
    clauses = [f"t.{column} = %({column})s" for column in
               ("district", "representative_id", "category", "community") if filters.get(column)]
    if filters.get("department"):
        clauses.append("EXISTS (SELECT 1 FROM dispatches d WHERE d.ticket_id = t.ticket_id"
                       " AND d.department = %(department)s)")
    return clauses


def find_tickets(conn, filters, limit, offset):
    """Tickets matching ``filters`` (status, district, representative_id, department,
    category, community, and the properties overdue, undecided, duplicates when true),
    sorted by ``filters["sort"]`` (``SORTS``: newest first unless ``due``), with their
    current lead dispatch."""
    clauses = _scope_clauses(filters)
    if filters.get("status"):
        clauses.append("t.status = %(status)s")
    clauses += [sql for name, sql in PROPERTY_FILTERS.items() if filters.get(name)]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return conn.execute(
        "SELECT t.ticket_id, t.status, t.district, t.community, t.category, t.title,"
        " t.representative_id, t.received_at, t.status_since, t.version,"
        f" lead.department AS lead_department, lead.due_at, {OVERDUE_SQL} AS overdue,"
        f" {UNDECIDED_SQL} AS undecided, {DUPLICATE_SQL} AS likely_duplicate"
        f" FROM tickets t {LEAD_SQL} {where} ORDER BY {SORTS[filters.get('sort') or 'newest']}"
        " LIMIT %(limit)s OFFSET %(offset)s",
        {**filters, "limit": limit, "offset": offset}).fetchall()


def count_tickets(conn, filters):
    """How many tickets of the scope ``filters`` names (district, representative_id,
    department, category, community; the status and property filters left out) are in
    each status, and how many are overdue, undecided and likely duplicates; and how many
    each category, community, representative and department (dispatched to it at least
    once) holds, in one round trip: ``{"statuses": {status: n}, "overdue": n,
    "undecided": n, "duplicates": n, "total": n, "categories": {code: n},
    "communities": {code: n}, "representatives": {id: n}, "departments": {code: n}}``."""
    clauses = _scope_clauses(filters)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with conn.pipeline():
        grouped = conn.execute(
            "SELECT t.status, t.category, t.community, t.representative_id,"
            " grouping(t.status, t.category, t.community, t.representative_id) AS level,"
            " count(*) AS tickets,"
            + ", ".join(f" count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in PROPERTY_FILTERS.items())
            + f" FROM tickets t {LEAD_SQL} {where} GROUP BY GROUPING SETS"
            " ((t.status), (t.category), (t.community), (t.representative_id))", filters)
        by_department = conn.execute(
            "SELECT d.department, count(DISTINCT t.ticket_id) AS tickets FROM tickets t"
            f" JOIN dispatches d ON d.ticket_id = t.ticket_id {where} GROUP BY d.department", filters)
    rows, departments = grouped.fetchall(), by_department.fetchall()
    by_status = [row for row in rows if row["level"] == GROUPED_BY["status"]]
    return {"statuses": {row["status"]: row["tickets"] for row in by_status},
            "total": sum(row["tickets"] for row in by_status),
            **{name: sum(row[name] for row in by_status) for name in PROPERTY_FILTERS},
            **{plural: {row[column]: row["tickets"] for row in rows
                        if row["level"] == GROUPED_BY[column] and row[column] is not None}
               for plural, column in (("categories", "category"), ("communities", "community"),
                                      ("representatives", "representative_id"))},
            "departments": {row["department"]: row["tickets"] for row in departments}}


#: ``grouping(status, category, community, representative_id)`` of the rows grouped by
#: one of them: the bit of each column not grouped by is set, the first column highest
GROUPED_BY = {"status": 0b0111, "category": 0b1011, "community": 0b1101, "representative_id": 0b1110}


def waiting_tickets(conn, status, since_before, limit=200):
    """Tickets in ``status`` since before ``since_before`` (not yet escalated), locked;
    tickets another instance is handling are skipped."""
    return conn.execute(
        "SELECT * FROM tickets WHERE status = %s AND status_since <= %s AND escalated_at IS NULL"
        " ORDER BY status_since LIMIT %s FOR UPDATE SKIP LOCKED",
        (status, since_before, limit)).fetchall()


def unreminded_resolutions(conn, resolved_after, resolved_before, limit=200):
    """Resolved tickets whose reporter asked for feedback, resolved between
    ``resolved_after`` and ``resolved_before`` and not yet reminded to rate this
    resolution, nor rated by phone on the office's follow-up call, oldest first, locked;
    those another instance handles skipped."""
    return conn.execute(
        "SELECT t.* FROM tickets t WHERE t.status = 'resolved' AND t.reminded_at IS NULL"
        " AND t.feedback_requested AND t.status_since > %s AND t.status_since <= %s"
        " AND NOT EXISTS (SELECT 1 FROM follow_up_calls f WHERE f.ticket_id = t.ticket_id"
        " AND f.resolution = t.reopen_count)"
        " ORDER BY t.status_since LIMIT %s FOR UPDATE OF t SKIP LOCKED",
        (resolved_after, resolved_before, limit)).fetchall()


def due_tickets(conn, status, cutoffs, limit=200):
    """Tickets in ``status`` (not yet escalated) since before their district's cutoff
    (``{district: moment}``), oldest first, locked; those another instance handles skipped."""
    return conn.execute(
        "SELECT t.* FROM tickets t JOIN unnest(%s::text[], %s::timestamptz[]) AS c (district, cutoff)"
        " ON t.district = c.district AND t.status_since <= c.cutoff"
        " WHERE t.status = %s AND t.escalated_at IS NULL"
        " ORDER BY t.status_since LIMIT %s FOR UPDATE OF t SKIP LOCKED",
        (list(cutoffs), list(cutoffs.values()), status, limit)).fetchall()


def overdue_dispatches(conn, now, limit=200):
    """Lead dispatches past their due time, not yet flagged, with their tickets locked."""
    return conn.execute(
        "SELECT d.dispatch_id, d.department, d.due_at, t.* FROM dispatches d"
        " JOIN tickets t USING (ticket_id) WHERE d.role = 'lead' AND d.overdue_at IS NULL"
        " AND d.status IN ('sent', 'acknowledged', 'in_progress') AND d.due_at <= %s"
        " AND t.status IN ('dispatched', 'in_progress')"
        " ORDER BY d.due_at LIMIT %s FOR UPDATE OF t SKIP LOCKED", (now, limit)).fetchall()


FOLLOW_UP_COLUMNS = ("ticket_id", "resolution", "rating", "comment", "person_id", "person_name",
                     "at")


def record_follow_up_call(conn, call):
    """The office's follow-up call of a ticket's resolution (``FOLLOW_UP_COLUMNS``), as
    stored; None when that resolution's call is recorded already."""
    return conn.execute(insert_sql("follow_up_calls", FOLLOW_UP_COLUMNS,
                                   "ON CONFLICT (ticket_id, resolution) DO NOTHING RETURNING *"),
                        row_values(call, FOLLOW_UP_COLUMNS, set())).fetchone()


def follow_up_call(conn, ticket_id, resolution):
    """The follow-up call recorded for the ticket's ``resolution``, or None."""
    return conn.execute("SELECT * FROM follow_up_calls WHERE ticket_id = %s AND resolution = %s",
                        (ticket_id, resolution)).fetchone()


def add_internal_note(conn, ticket_id, party, person, text):
    """A note kept for the ticket's handlers only (never in an event); returns it."""
    return conn.execute(
        "INSERT INTO internal_notes (ticket_id, party, person_id, person_name, text)"
        " VALUES (%(ticket_id)s, %(party)s, %(person_id)s, %(person_name)s, %(text)s)"
        " RETURNING note_id, ticket_id, at, party, person_id, person_name, text",
        {"ticket_id": ticket_id, "party": party, "text": text, **_person_columns(person)}
    ).fetchone()


def internal_notes(conn, ticket_id):
    """The ticket's internal notes, oldest first."""
    return conn.execute("SELECT note_id, ticket_id, at, party, person_id, person_name, text"
                        " FROM internal_notes WHERE ticket_id = %s ORDER BY note_id",
                        (ticket_id,)).fetchall()


def active_dispatch_of(conn, ticket_id, department):
    """Whether ``department`` has an active dispatch of the ticket."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM dispatches WHERE ticket_id = %s"
                        " AND department = %s AND status = ANY(%s)) AS active",
                        (ticket_id, department, list(ACTIVE_DISPATCH_STATUSES))).fetchone()["active"]


REPLY_COLUMNS = "reply_id, district, kind, title, text, created_by, created_at"


def saved_replies(conn, district):
    """The district's saved replies, by kind then title."""
    return conn.execute(f"SELECT {REPLY_COLUMNS} FROM saved_replies WHERE district = %s"
                        " ORDER BY kind, title, reply_id", (district,)).fetchall()


def save_reply(conn, district, kind, title, text, created_by):
    return conn.execute(
        "INSERT INTO saved_replies (district, kind, title, text, created_by)"
        f" VALUES (%s, %s, %s, %s, %s) RETURNING {REPLY_COLUMNS}",
        (district, kind, title, text, created_by)).fetchone()


def delete_reply(conn, district, reply_id):
    """Whether the district had the reply (it has it no more)."""
    return conn.execute("DELETE FROM saved_replies WHERE district = %s AND reply_id = %s",
                        (district, reply_id)).rowcount == 1


REJECTED_COLUMNS = ("department", "dispatch_id", "ticket_id", "district", "status", "note",
                    "result", "reason")


def record_rejected_feedback(conn, rejected):
    """Department feedback that could not apply, kept for the office (``REJECTED_COLUMNS``)."""
    return conn.execute(insert_sql("rejected_feedback", REJECTED_COLUMNS, "RETURNING *"),
                        row_values(rejected, REJECTED_COLUMNS, set())).fetchone()


def rejected_feedback(conn, district, departments, include_handled=False):
    """The rejected feedback of the district's tickets, and that of no known ticket from
    ``departments`` (those serving the district), newest first."""
    handled = "" if include_handled else " AND handled_at IS NULL"
    return conn.execute(
        "SELECT * FROM rejected_feedback WHERE (district = %s OR (ticket_id IS NULL"
        f" AND department = ANY(%s))){handled} ORDER BY at DESC, id DESC LIMIT 500",
        (district, list(departments))).fetchall()


def mark_rejected_feedback_handled(conn, rejected_id, district, departments, handled_by):
    """The rejected feedback handled (as ``rejected_feedback`` lists it for the district);
    returns it, or None when the district has no such entry not yet handled."""
    return conn.execute(
        "UPDATE rejected_feedback SET handled_at = now(), handled_by = %s WHERE id = %s"
        " AND handled_at IS NULL AND (district = %s OR (ticket_id IS NULL AND department = ANY(%s)))"
        " RETURNING *", (handled_by, rejected_id, district, list(departments))).fetchone()


def department_dispatches(conn, code, active_only=True, limit=500):
    """The department's dispatches (only those it still has to answer, when
    ``active_only``) with their tickets as its dispatch message shows them, and the
    reporter's contact when they asked for feedback; the soonest due first."""
    active = " AND d.status = ANY(%(active)s)" if active_only else ""
    return conn.execute(
        "SELECT d.dispatch_id, d.ticket_id, d.department, d.role, d.status AS dispatch_status,"
        " d.note, d.dispatched_at, d.due_at, d.resolved_at, d.result, d.overdue_at,"
        " t.status, t.district, t.community, t.category, t.title, t.description, t.location,"
        " t.attachments, t.representative_id, c.name AS reporter_name, c.phone AS reporter_phone"
        " FROM dispatches d JOIN tickets t USING (ticket_id) LEFT JOIN dispatch_contacts c"
        " ON c.ticket_id = t.ticket_id AND t.feedback_requested"
        f" WHERE d.department = %(code)s{active} ORDER BY d.due_at, d.dispatched_at"
        " LIMIT %(limit)s",
        {"code": code, "active": list(ACTIVE_DISPATCH_STATUSES), "limit": limit}).fetchall()
