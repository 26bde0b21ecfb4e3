"""The intake service (HTTP, port 8001): front-ends post concerns and read their status.

Serves the reporter's own page of their concern too (``reporter_page``, ``/c/<token>``).
Consumes ``zd.intake.events`` (directory, credentials, ``ticket.*``: the newest version
of each ticket kept, ``rating.taken_by_phone``: the office's call rated under the rating
rules, ``personal_data.expired``: the reporter anonymised, their page's link dropped) and emits
``concern.received``, ``reporter.contact``, ``reporter.dispatch_contact`` and
``concern.rated`` through its outbox, each committed with what caused it.
Every JSON answer is a schema's ``dump`` (``schemas``); Open311's are written by its
``formats``.
"""
from functools import partial

from services.common import metrics, tracing
from services.common.errors import NotFound
from services.common.event_routing import route_event
from services.common.events import PERSONAL_DATA_EXPIRED, PHONE_RATING, TICKET_PREFIX
from services.common.http import api, json_response, read_json
from services.common.local_directory import current_directory
from services.common.log_context import bind
from services.common.messaging import consume_messages, handle_batch
from services.common.service import ZeroDistanceService
from services.common.topology import SERVICE_QUEUES
from services.intake import domain, openapi, paging, store
from services.intake.open311.api import Open311Api
from services.intake.reporter_page.entrypoints import ReporterPages
from services.intake.schemas import (
    AcceptedSchema,
    ConcernListSchema,
    ConcernQuerySchema,
    ConcernSchema,
    ConcernViewSchema,
    RatingAcceptedSchema,
    RatingSchema,
)
from services.intake.use_cases import acceptance, rating, retention, ticket_updates

EVENT_HANDLERS = {TICKET_PREFIX: ticket_updates.keep_newest_version,
                  PHONE_RATING: rating.take_phone_rating,
                  PERSONAL_DATA_EXPIRED: retention.anonymise_reporter}


class IntakeService(ZeroDistanceService, Open311Api, ReporterPages):
    name = "intake"
    openapi_document = openapi.SPEC

    @api("POST", "/api/v1/concerns")
    def post_concern(self, request):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "frontend")
        body = read_json(request)
        concern = ConcernSchema().load(body)
        with self.db.transaction() as conn, conn.pipeline():  # its events go with the commit
            domain.check_concern(concern, current_directory(conn), caller.party.scope)
            status, answer = acceptance.accept(conn, caller, concern, domain.fingerprint(body))
            bind(ticket_id=answer["ticket_id"])
            conn.commit()
        tracing.tag(ticket_id=answer["ticket_id"])
        if status == 202:
            metrics.CONCERNS_RECEIVED.labels(concern["district"], concern["channel"]).inc()
        return json_response(status, AcceptedSchema().dump(answer))

    @api("GET", "/api/v1/concerns")
    def list_concerns(self, request):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "frontend")
        query = ConcernQuerySchema().load(request.args.to_dict())
        after = paging.read_cursor(query["cursor"]) if "cursor" in query else None
        with self.db.transaction() as conn:
            rows = store.list_concerns(conn, caller.party.scope, query["limit"] + 1,
                                       query.get("external_id"), query.get("status"),
                                       query.get("since"), after)
        return json_response(200, ConcernListSchema().dump(paging.page(rows, query["limit"])))

    @api("GET", "/api/v1/concerns/<string:ticket_id>")
    def get_concern(self, request, ticket_id):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "frontend")
            concern = store.find_concern(conn, ticket_id)
        if concern is None or concern["district"] != caller.party.scope:
            raise NotFound(f"No concern {ticket_id} in your district.")
        return json_response(200, ConcernViewSchema().dump(concern))

    @api("POST", "/api/v1/concerns/<string:ticket_id>/rating")
    def post_rating(self, request, ticket_id):
        with self.db.transaction() as conn:
            caller = self.keys.caller(conn, request, "frontend")
        rated = RatingSchema().load(read_json(request))
        with self.db.transaction() as conn:
            status, answer = rating.rate(conn, caller, ticket_id, rated)
        return json_response(status, RatingAcceptedSchema().dump(answer))

    @consume_messages(SERVICE_QUEUES["intake"])
    def on_event(self, batch):
        return handle_batch(self.db, batch, partial(route_event, handlers=EVENT_HANDLERS))
