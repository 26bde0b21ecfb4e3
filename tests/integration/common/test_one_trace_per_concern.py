"""One concern, one trace: its spans in intake, routing, notify and reporting, on the real
broker and database, form one tree. The POST's span; intake's relay publishing
``concern.received`` as its child; routing consuming it and its relay dispatching to the
department, whose message carries the dispatch's ``traceparent``; notify consuming it and
delivering the reporter's text message (from the database, later); reporting consuming it.
The front-end's own trace context is continued. The services run in this process, their
spans kept in memory (``tests.support.traces``)."""
import requests
from kombu import Connection, Queue

from services.common import tracing
from tests.support.notify import channel_settings
from tests.support.services import running, wait_until
from tests.support.sink import Sink
from tests.support.system import department_uri, fresh_system
from tests.support.traces import parent_id, recording_spans, service_of

POST = "POST /api/v1/concerns"
FRONT_END_TRACE, FRONT_END_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
#: (service, span name) that the concern's trace must hold; a delivery's name ends with its template
EXPECTED = {("intake", POST), ("intake", "publish zd.events concern.received"),
            ("routing", "consume zd.routing.events concern.received"),
            ("routing", "publish zd.dispatch dept.conghua-water"),
            ("notify", "consume zd.notify.events concern.received"),
            ("notify", "deliver sms concern.received.reporter"),
            ("reporting", "consume zd.reporting.events concern.received")}


def the_concerns_trace(exporter, ticket_id):
    """The spans of the trace the POST of ``ticket_id`` began, once it holds every expected
    span and each span's parent; None before."""
    spans = exporter.get_finished_spans()
    posts = [span for span in spans if span.name == POST
             and span.attributes.get("zd.ticket_id") == ticket_id]
    if not posts:
        return None
    trace = [span for span in spans if span.context.trace_id == posts[0].context.trace_id]
    made = {(service_of(span), span.name) for span in trace}
    ids = {span.context.span_id for span in trace}
    whole = all(parent_id(span) in ids for span in trace if span is not posts[0])  # one tree
    return trace if EXPECTED <= made and whole else None


def one(trace, service, name):
    (found,) = [span for span in trace if (service_of(span), span.name) == (service, name)]
    return found


def take_dispatch(user, department):
    with Connection(department_uri(user)) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            message = queue.get(block=True, timeout=15)
            message.ack()
            return message


def test_a_concerns_spans_form_one_trace_through_the_four_services(tmp_path):
    with Sink.start(tmp_path) as sink, recording_spans() as exporter:
        keys, users, _ = fresh_system()
        with running("intake") as intake, running("routing"), running("reporting"), \
                running("notify", **channel_settings(sink)):
            posted = requests.post(f"{intake}/api/v1/concerns", timeout=10, headers={
                "Authorization": f"Bearer {keys['frontend:conghua']}",
                "traceparent": f"00-{FRONT_END_TRACE}-{FRONT_END_SPAN}-01"}, json={
                "external_id": "trace-1", "district": "conghua", "community": "jiekou",
                "channel": "hotline", "description": "街口路下水道堵塞，污水外溢",
                "reporter": {"name": "王女士", "phone": "+8613900000031", "wants_feedback": True}})
            assert posted.status_code == 202, posted.text
            ticket_id = posted.json()["ticket_id"]
            dispatch = take_dispatch(users["conghua-water"], "conghua-water")
            trace = wait_until(lambda: the_concerns_trace(exporter, ticket_id), timeout=20,
                               what="the concern's spans in every service")
    post = one(trace, "intake", POST)
    assert (f"{post.context.trace_id:032x}", f"{parent_id(post):016x}") == (FRONT_END_TRACE,
                                                                          FRONT_END_SPAN)
    assert post.attributes["http.response.status_code"] == 202
    published = one(trace, "intake", "publish zd.events concern.received")
    assert parent_id(published) == post.context.span_id
    assert parent_id(one(trace, "routing", "consume zd.routing.events concern.received")) \
        == published.context.span_id
    dispatched = one(trace, "routing", "publish zd.dispatch dept.conghua-water")
    assert dispatched.attributes["messaging.message.id"] == dispatch.properties["message_id"]
    # the department's message carries the dispatch's context: an optional header, beyond
    # what contract §7 names (docs/reference.md, "The dispatch message")
    assert dispatch.headers["traceparent"].split("-")[1:3] == [
        f"{post.context.trace_id:032x}", f"{dispatched.context.span_id:016x}"]
    delivery = one(trace, "notify", "deliver sms concern.received.reporter")
    assert delivery.attributes["zd.notification.outcome"] == "sent"
    assert service_of(next(span for span in trace if span.context.span_id == parent_id(delivery))) \
        == "notify"
    assert {service_of(span) for span in trace} >= {"intake", "routing", "notify", "reporting"}
    # every span naming the ticket is in this one trace, and none holds the reporter's phone
    naming = [span for span in exporter.get_finished_spans()
              if span.attributes.get("zd.ticket_id") == ticket_id]
    assert {span.context.trace_id for span in naming} == {post.context.trace_id}
    assert not any("+8613900000031" in span.to_json() or "王女士" in span.to_json()
                   for span in exporter.get_finished_spans())
    # the probes each service answered while it started made no span
    assert not [span for span in exporter.get_finished_spans() if "/health" in span.name]
    assert not tracing.enabled()
