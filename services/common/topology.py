"""The RabbitMQ topology: every exchange, queue and binding the system uses.

Exchanges
- ``zd.events``   (topic): internal domain events, routing key = event type.
- ``zd.dispatch`` (topic): tickets for departments, routing key ``dept.<code>``.
- ``zd.feedback`` (topic): departments' answers, routing key ``dept.<code>``.
- ``zd.parked``   (direct): messages a service could not process, with the reason.

Every queue is a durable quorum queue. A service queue dead-letters into
``zd.parked`` once a message has failed ``DELIVERY_LIMIT`` times, so a poison
message never blocks the queue behind it. Everything is declared before anything
is published (``declare``), because an unroutable message is otherwise dropped.

Who declares (``ZD_DECLARE_TOPOLOGY``): in development every service declares the whole
topology when it connects (``all``), so any start order works. In a deployment the
topology comes from the RabbitMQ definitions (``services/admin/definitions.py``) and a
service's broker user may configure only its own queues (``own``): the service then
declares only the queues it consumes, with their bindings, and checks that the shared
exchanges exist with a passive declare, which needs no permission.

Policies (``policies``), applied by the admin through the management API, add what
queue arguments cannot add to queues that already exist:
- service queues dead-letter **at least once** (``dead-letter-strategy``, which needs
  ``overflow: reject-publish``): a message is removed from its queue only once its
  parking queue has confirmed it, so parking never loses one;
- parking queues keep a message no longer than the shortest ``personal_data_days`` of the
  directory (``message-ttl``): a copy RabbitMQ itself dead-lettered is the message as it
  was, reporter details included, and it must not outlive them elsewhere;
- department queues have **no delivery limit**: a department system that returns a
  dispatch again and again (its own back end down) gets it again, never loses it, and
  it is never moved where the department cannot read it. RabbitMQ 4 would otherwise
  drop it after 20 deliveries; the policy says ``-1`` (unlimited) there, while 3.x has
  no limit unless one is set.
"""
import re

from kombu import Exchange, Queue, binding

from services.common.config import DECLARE_OWN
from services.common.events import EVENTS_EXCHANGE

EVENTS = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
DISPATCH = Exchange("zd.dispatch", type="topic", durable=True)
FEEDBACK = Exchange("zd.feedback", type="topic", durable=True)
PARKED = Exchange("zd.parked", type="direct", durable=True)
EXCHANGES = (EVENTS, DISPATCH, FEEDBACK, PARKED)

DELIVERY_LIMIT = 10
FEEDBACK_REJECTED = "zd.feedback.rejected"


def _quorum(name, exchange, routing_keys, dead_letter=True):
    """A durable quorum queue bound to ``exchange`` with each of ``routing_keys``."""
    arguments = {"x-queue-type": "quorum"}
    if dead_letter:
        arguments.update({
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": PARKED.name,
            "x-dead-letter-routing-key": name,
        })
    if isinstance(routing_keys, str):
        routing_keys = [routing_keys]
    bindings = [binding(exchange, routing_key=key) for key in routing_keys]
    return Queue(name, bindings=bindings, durable=True, queue_arguments=arguments)


def _events_queue(service, *event_types):
    return _quorum(f"zd.{service}.events", EVENTS, event_types)


# Every service keeps its own copy of the directory and of the credentials.
_SHARED = ("directory.published", "credential.*")
# The services that keep a reporter's details anonymise them (``personal_data.expired``).
_PERSONAL_DATA = "personal_data.expired"

SERVICE_QUEUES = {
    "intake": _events_queue("intake", *_SHARED, "ticket.*", "rating.taken_by_phone",
                            _PERSONAL_DATA),
    "routing": _events_queue("routing", *_SHARED, "concern.received", "reporter.dispatch_contact",
                             "concern.rated", _PERSONAL_DATA),
    "notify": _events_queue("notify", *_SHARED, "concern.received", "reporter.contact", "ticket.*",
                            "department.dispatched", "feedback.rejected", "staff.sign_in_code",
                            _PERSONAL_DATA),
    "reporting": _events_queue("reporting", *_SHARED, "concern.received", "concern.rated",
                               "ticket.*"),
}
ROUTING_FEEDBACK = _quorum("zd.routing.feedback", FEEDBACK, "dept.*")


def department_queue(code):
    """``zd.dept.<code>``: what a department system consumes; kept while it is offline."""
    return _quorum(f"zd.dept.{code}", DISPATCH, f"dept.{code}", dead_letter=False)


def department_routing_key(code):
    return f"dept.{code}"


def parked_queues():
    names = [q.name for q in SERVICE_QUEUES.values()] + [ROUTING_FEEDBACK.name, FEEDBACK_REJECTED]
    return [_quorum(f"{name}.parked" if name != FEEDBACK_REJECTED else name, PARKED, name,
                    dead_letter=False) for name in names]


def declare(connection, departments=()):
    """Declare the whole topology (idempotent) on an open kombu connection."""
    channel = connection.channel()
    try:
        for exchange in EXCHANGES:
            exchange(channel).declare()
        queues = [*SERVICE_QUEUES.values(), ROUTING_FEEDBACK, *parked_queues()]
        queues += [department_queue(code) for code in departments]
        for queue in queues:
            queue(channel).declare()
    finally:
        channel.close()


def check_exchanges(connection):
    """Assert, with passive declares, that every exchange exists (``own``)."""
    channel = connection.channel()
    try:
        for exchange in EXCHANGES:
            exchange(channel).declare(passive=True)
    finally:
        channel.close()


def declare_only_own_queues():
    """From now on this process declares the shared exchanges passively: a consumer that
    declares its queue and bindings checks the exchanges instead of declaring them."""
    for exchange in EXCHANGES:
        exchange.passive = True


def declaring(mode):
    """What a publisher declares on connecting, for ``ZD_DECLARE_TOPOLOGY`` ``mode``."""
    return check_exchanges if mode == DECLARE_OWN else declare


#: what the service and department queue policies set (see the module's docstring)
SERVICE_QUEUE_POLICY = "zd-service-queues"
DEPARTMENT_QUEUE_POLICY = "zd-department-queues"
PARKED_QUEUE_POLICY = "zd-parked-queues"
DAY_MILLISECONDS = 86_400_000
#: what a parked message's lifetime is when no directory says (the policy's default)
DEFAULT_PARKED_DAYS = 180
AT_LEAST_ONCE = {"dead-letter-strategy": "at-least-once", "overflow": "reject-publish"}


def policies(broker_version, parked_days=DEFAULT_PARKED_DAYS):
    """``[(name, body)]`` for the management API's ``PUT /api/policies/{vhost}/{name}``,
    for a broker of ``broker_version`` (e.g. ``"3.10.8"``); parked messages expire after
    ``parked_days``. RabbitMQ 3 sets no delivery limit unless asked, so its department
    queues need no policy. ``zd.feedback.rejected`` is not a parking queue: the office
    reads it, and a department's answer holds no reporter detail."""
    service_queues = [q.name for q in SERVICE_QUEUES.values()] + [ROUTING_FEEDBACK.name]
    chosen = [(SERVICE_QUEUE_POLICY, {
        "pattern": "^(" + "|".join(re.escape(name) for name in service_queues) + ")$",
        "apply-to": "queues", "priority": 10, "definition": dict(AT_LEAST_ONCE)})]
    chosen.append((PARKED_QUEUE_POLICY, {
        "pattern": r"^zd\..*\.parked$", "apply-to": "queues", "priority": 10,
        "definition": {"message-ttl": parked_days * DAY_MILLISECONDS}}))
    if _major(broker_version) >= 4:
        chosen.append((DEPARTMENT_QUEUE_POLICY, {
            "pattern": r"^zd\.dept\.", "apply-to": "queues", "priority": 10,
            "definition": {"delivery-limit": -1}}))
    return chosen


def _major(version):
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0
