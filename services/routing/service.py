"""The routing service (HTTP, port 8002): the ticket workflow.

Consumes ``zd.routing.events`` (``concern.received``, ``reporter.dispatch_contact``,
``concern.rated``, directory, credentials) and
``zd.routing.feedback`` (departments' answers on ``zd.feedback``); emits
``ticket.*`` events and the departments' messages on ``zd.dispatch`` (or, for webhook
departments, ``department.dispatched`` to notify) through its outbox. Feedback that
cannot apply is parked on ``zd.feedback.rejected`` and announced as ``feedback.rejected``. Every
minute it acts on the deadlines of the district policy (``deadlines``: a reporter who has
not rated a resolution is reminded once, ``ticket.reminded``); every hour it
anonymises the reporter details of tickets final for ``personal_data_days`` and announces
``personal_data.expired`` (``retention``), which it also consumes from an erasure request.
For the operator (the admin key) it reports how often the liaison office changed the
category the keywords chose (``category_changes``). Representatives and offices act on one
ticket or on many at once (each on its own), and keep internal notes no event carries; an
office records the rating it took from a reporter by phone (a follow-up call), which goes
to intake as ``rating.taken_by_phone`` and comes back as ``concern.rated``.
Every answer is a schema's ``dump`` (``schemas``). People (representatives, office and
department staff) use the same use cases through the workbench's pages
(``workbench.entrypoints``), signed in with a one-time code (``sign_in``), whose dead
codes and sessions the hourly timer clears.
"""
import logging
from functools import partial

from nameko.timer import timer

from services.common import metrics, topology
from services.common.errors import Conflict, Forbidden, Unavailable
from services.common.event_routing import route_event
from services.common.events import (
    CONCERN_RATED,
    CONCERN_RECEIVED,
    DISPATCH_CONTACT,
    PERSONAL_DATA_EXPIRED,
)
from services.common.http import api, json_response, read_json
from services.common.local_directory import current_directory
from services.common.messaging import consume_messages, handle_batch
from services.common.service import ZeroDistanceService
from services.common.word_segmenter import WordSegmenter
from services.routing import category_changes, category_models, openapi, store
from services.routing.schemas import (
    ActionSchema,
    BulkActionSchema,
    BulkOutcomesSchema,
    CategoryModelSchema,
    CategoryModelsSchema,
    CategoryReportQuerySchema,
    CategoryReportSchema,
    FeedbackAppliedSchema,
    FeedbackSchema,
    InternalNoteBodySchema,
    InternalNoteSchema,
    RetiredModelsSchema,
    TicketListSchema,
    TicketQuerySchema,
    TicketViewSchema,
    TrainModelSchema,
)
from services.routing.use_cases import (
    actions,
    category_model,
    deadlines,
    inbound,
    notes,
    reading,
    retention,
    sign_in,
    workflow,
)
from services.routing.workbench.entrypoints import WorkbenchPages

EVENT_HANDLERS = {CONCERN_RECEIVED: inbound.receive_concern,
                  DISPATCH_CONTACT: inbound.receive_dispatch_contact,
                  CONCERN_RATED: inbound.receive_rating,
                  PERSONAL_DATA_EXPIRED: retention.anonymise_ticket}
DEADLINE_CHECK_SECONDS = 60
RETENTION_CHECK_SECONDS = 3600  # personal data is kept for days: an hour late is nothing
log = logging.getLogger(__name__)


class RoutingService(WorkbenchPages, ZeroDistanceService):
    name = "routing"
    openapi_document = openapi.SPEC
    word_segmenter = WordSegmenter()  # every new concern's words are cut: load jieba first

    @consume_messages(topology.SERVICE_QUEUES["routing"])
    def on_event(self, batch):
        return handle_batch(self.db, batch, partial(route_event, handlers=EVENT_HANDLERS),
                            prepare=inbound.lock_stations, partition=inbound.district_of,
                            pipelined=True)

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def enforce_deadlines(self):
        try:
            with self.db.transaction() as conn:
                done = deadlines.enforce(conn, current_directory(conn), workflow.now())
        except Unavailable as reason:  # no database or no directory yet: next minute
            log.warning("deadlines not checked: %s", reason.detail)
            return
        if any(done.values()):
            log.info("deadlines: %s", done)

    @timer(interval=RETENTION_CHECK_SECONDS, eager=True)  # at start too: restarts may come hourly
    def expire_personal_data(self):
        try:
            retention.expire_all(self.db, workflow.now(), current_directory)
        except Unavailable as reason:  # no database or no directory yet: next hour
            log.warning("personal data expiry not checked: %s", reason.detail)
            return
        metrics.PERSONAL_DATA_EXPIRY_CHECKED.set_to_current_time()  # alerted on when it stops
        with self.db.transaction() as conn:
            forgotten = sign_in.forget_expired(conn, workflow.now())
        if any(forgotten.values()):
            log.info("sign-in: forgot %s", forgotten)

    @consume_messages(topology.ROUTING_FEEDBACK, from_outside=True)
    def on_feedback(self, batch):
        return handle_batch(self.db, batch, inbound.apply_department_feedback)

    @api("POST", "/api/v1/departments/<string:department>/feedback")
    def post_feedback(self, request, department):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "department")
        if caller.party.scope != department:
            raise Forbidden(f"This key answers for department {caller.party.scope} only.")
        body = read_json(request)
        FeedbackSchema().load(body)
        with self.db.transaction() as conn:
            ticket, refused = inbound.apply_department_feedback(
                conn, inbound.feedback_over_http(department, body))
        if refused:  # parked on zd.feedback.rejected, like feedback that came by AMQP
            raise Conflict(refused, parked_in=topology.FEEDBACK_REJECTED)
        return json_response(200, FeedbackAppliedSchema().dump(ticket))

    @api("GET", "/api/v1/tickets")
    def list_tickets(self, request):
        query = TicketQuerySchema().load(request.args.to_dict())
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "representative", "congress", "admin")
            filters = actions.list_scope(caller.party, query)
            rows = store.find_tickets(conn, filters, query["limit"], query["offset"])
        return json_response(200, TicketListSchema().dump(
            {"tickets": rows, "limit": query["limit"], "offset": query["offset"]}))

    @api("GET", "/api/v1/category-report")
    def category_report(self, request):
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
            days = CategoryReportQuerySchema().load(request.args.to_dict())["days"]
            chosen, changes = store.category_changes(conn, days)
            model_choices = store.model_choices(conn, days)
            categories = current_directory(conn)["categories"]
        rows, suggestions = category_changes.report(chosen, changes, categories)
        return json_response(200, CategoryReportSchema().dump(
            {"days": days, "categories": rows, "keywords_to_add": suggestions,
             "model_confusions": category_changes.model_confusions(model_choices)}))

    @api("GET", "/api/v1/category-models")
    def list_category_models(self, request):
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
            models = category_models.listed(store.category_models(conn))
        return json_response(200, CategoryModelsSchema().dump({"models": models}))

    @api("POST", "/api/v1/category-models")
    def train_category_model(self, request):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "admin")
        asked = TrainModelSchema().load(read_json(request))
        saved = category_model.train(self.db, asked["days"], asked["with_corpus"], str(caller.party))
        return json_response(201, CategoryModelSchema().dump({**saved, "in_use": True}))

    @api("POST", "/api/v1/category-models/retire")
    def retire_category_models(self, request):
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
        retired = category_model.retire(self.db)
        return json_response(200, RetiredModelsSchema().dump({"retired": retired}))

    @api("GET", "/api/v1/tickets/<string:ticket_id>")
    def get_ticket(self, request, ticket_id):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "representative", "congress", "admin")
            ticket = store.find_ticket(conn, ticket_id)
            actions.check_access(ticket, caller.party)
            seen = reading.ticket_as_seen(conn, ticket, current_directory(conn))
        return json_response(200, TicketViewSchema().dump(seen))

    @api("POST", "/api/v1/tickets/<string:ticket_id>/actions")
    def post_action(self, request, ticket_id):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "representative", "congress", "admin")
        command = ActionSchema().load(read_json(request))
        with self.db.transaction() as conn:
            directory = current_directory(conn)
            ticket = actions.act(conn, ticket_id, caller.party, command, directory)
            seen = reading.ticket_as_seen(conn, ticket, directory)
        answered = 202 if command["action"] in actions.ANSWERED_LATER else 200
        return json_response(answered, TicketViewSchema().dump(seen))

    @api("POST", "/api/v1/tickets/actions")
    def post_bulk_action(self, request):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "representative", "congress", "admin")
            directory = current_directory(conn)
        command = BulkActionSchema().load(read_json(request))
        outcomes = actions.act_on_many(self.db, command.pop("ticket_ids"), caller.party, command,
                                       directory)
        return json_response(200, BulkOutcomesSchema().dump({"outcomes": outcomes}))

    @api("POST", "/api/v1/tickets/<string:ticket_id>/notes")
    def post_internal_note(self, request, ticket_id):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "representative", "congress", "admin")
        text = InternalNoteBodySchema().load(read_json(request))["text"]
        with self.db.transaction() as conn:
            note = notes.add_internal_note(conn, store.find_ticket(conn, ticket_id), caller.party,
                                           None, text)
        return json_response(201, InternalNoteSchema().dump(note))
