"""Who may do what on the broker: the names and permissions of every RabbitMQ user.

Each service's user may configure only the queues it consumes, write only to those
queues (to bind them) and to the exchanges it publishes to, and read only its queues
and the exchanges they are bound to. Every service relays the admin outbox
(``directory.published``, ``credential.*``) and may park a message, so every one
writes to ``zd.events`` and ``zd.parked``. A department's user may read only its queue
``zd.dept.<code>`` and publish only to ``zd.feedback`` with routing key ``dept.<code>``
(a topic permission); it may configure nothing. The admin user is a broker
administrator: it declares the topology, sets the policies and manages the users.

A vhost other than ``/`` prefixes a user's name (``<vhost>.zd-routing``): RabbitMQ
users are broker-wide, so a test's or a second system's users never change the
main system's.
"""
import re
from dataclasses import dataclass

from services.common import topology

ADMIN_USER = "zd-admin"
NOTHING = "^$"
EVERYTHING = ".*"


@dataclass(frozen=True)
class Access:
    configure: str
    write: str
    read: str
    topic_write: dict  # exchange → routing keys it may publish with (a topic permission)


def username(name, vhost="/"):
    return name if vhost == "/" else f"{vhost}.{name}"


def department_username(department, vhost="/"):
    return username(f"zd-dept-{department}", vhost)


def service_username(service, vhost="/"):
    return username(f"zd-{service}", vhost)


def _names(*names):
    return "^(" + "|".join(re.escape(name) for name in names) + ")$"


def _consumed_queues(service):
    queues = [topology.SERVICE_QUEUES[service].name]
    if service == "routing":
        queues.append(topology.ROUTING_FEEDBACK.name)
    return queues


def _bound_exchanges(service):
    queue_bindings = [topology.SERVICE_QUEUES[service].bindings]
    if service == "routing":
        queue_bindings.append(topology.ROUTING_FEEDBACK.bindings)
    return sorted({b.exchange.name for bindings in queue_bindings for b in bindings})


#: the exchanges each service publishes to, beyond zd.events and zd.parked
PUBLISHES = {"routing": (topology.DISPATCH.name,)}


def service_access(service):
    queues = _consumed_queues(service)
    published = [topology.EVENTS.name, topology.PARKED.name, *PUBLISHES.get(service, ())]
    return Access(configure=_names(*queues), write=_names(*queues, *published),
                  read=_names(*queues, *_bound_exchanges(service)), topic_write={})


def department_access(department):
    return Access(configure=NOTHING, write=_names(topology.FEEDBACK.name),
                  read=_names(topology.department_queue(department).name),
                  topic_write={topology.FEEDBACK.name: _names(
                      topology.department_routing_key(department))})


ADMIN_ACCESS = Access(configure=EVERYTHING, write=EVERYTHING, read=EVERYTHING, topic_write={})
