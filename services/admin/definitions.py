"""RabbitMQ definitions for a deployment, generated from the topology and the directory.

``python -m services.admin rabbitmq-definitions`` writes the JSON a RabbitMQ node
imports at boot (``load_definitions``) or through ``POST /api/definitions``: the vhost,
one user per service with only the permissions it needs, the department users with
their topic permissions, the admin user, every exchange, quorum queue (with its
dead-letter settings and delivery limit) and binding, and the queue policies. There is
no ``guest``: a node that imports definitions at boot does not create it.

Passwords never come from this repository. A service user's password is the one in its
``ZD_<SERVICE>_AMQP_URI``, the admin's the one in ``ZD_AMQP_URI``; only their salted
SHA-256 hashes go into the file. A user whose password is not given (every department
user, and every user of the committed ``deploy/rabbitmq/definitions.json``) has an
empty hash and cannot log in until given one: ``amqp-users issue <dept>`` for a
department, or the definitions generated again with the URIs set. A department user
issued a password keeps it: the admin schema keeps its hash (``department_hashes``),
which the definitions generated again carry, so that a broker importing them does not
blank it.
"""
import base64
import hashlib
import os
import secrets

from services.admin import broker_access as access
from services.common import topology
from services.common.config import SERVICES, credentials_of
from services.common.directory import shortest_personal_data_days

#: the RabbitMQ series the deployment runs (deploy/compose.yaml, deploy/kubernetes): its
#: major version decides the queue policies (``topology.policies``); a broker of another
#: version (a development machine's 3.x) is given definitions for its own
DEPLOYED_RABBITMQ_VERSION = "4.2.9"
HASHING = "rabbit_password_hashing_sha256"


def password_hash(password, salt=None):
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def _given(variable, vhost, default_name, environ):
    """``(user name, password or None)`` from a URI variable, else the default name."""
    uri = environ.get(variable)
    if not uri:
        return access.username(default_name, vhost), None
    user, password = credentials_of(uri)
    if user in (None, "guest"):
        raise ValueError(f"{variable} must name a user of its own, not {user or 'none'}:"
                         " the deployment has no guest")
    return user, password


def _user(name, password, tags=(), hashed=None):
    return {"name": name, "password_hash": hashed or (password_hash(password) if password else ""),
            "hashing_algorithm": HASHING, "tags": list(tags), "limits": {}}


def _permission(user, vhost, rights):
    return {"user": user, "vhost": vhost, "configure": rights.configure,
            "write": rights.write, "read": rights.read}


def _queue(queue, vhost):
    return {"name": queue.name, "vhost": vhost, "durable": True, "auto_delete": False,
            "arguments": dict(queue.queue_arguments)}


def definitions(directory, vhost="/", environ=None, rabbitmq_version=DEPLOYED_RABBITMQ_VERSION,
                department_hashes=None):
    """The definitions document for ``directory`` on ``vhost``; ``department_hashes``:
    ``{user: password hash}`` of the department users issued a password."""
    environ = os.environ if environ is None else environ
    department_hashes = department_hashes or {}
    users, permissions, topic_permissions = [], [], []

    def grant(name, password, rights, tags=(), hashed=None):
        users.append(_user(name, password, tags, hashed))
        permissions.append(_permission(name, vhost, rights))
        for exchange, write in rights.topic_write.items():
            topic_permissions.append({"user": name, "vhost": vhost, "exchange": exchange,
                                      "write": write, "read": access.NOTHING})

    grant(*_given("ZD_AMQP_URI", vhost, access.ADMIN_USER, environ), access.ADMIN_ACCESS,
          tags=("administrator",))
    for service in SERVICES:
        name, password = _given(f"ZD_{service.upper()}_AMQP_URI", vhost,
                                access.service_username(service), environ)
        grant(name, password, access.service_access(service))
    for code, department in directory["departments"].items():
        if department["delivery"] == "amqp":
            user = access.department_username(code, vhost)
            grant(user, None, access.department_access(code), hashed=department_hashes.get(user))

    queues = [*topology.SERVICE_QUEUES.values(), topology.ROUTING_FEEDBACK,
              *topology.parked_queues(), *map(topology.department_queue, directory["departments"])]
    bindings = [{"source": b.exchange.name, "vhost": vhost, "destination": queue.name,
                 "destination_type": "queue", "routing_key": b.routing_key, "arguments": {}}
                for queue in queues
                for b in sorted(queue.bindings, key=lambda b: (b.exchange.name, b.routing_key))]
    return {
        "rabbit_version": rabbitmq_version,
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "parameters": [],
        "policies": [{"vhost": vhost, "name": name, **body}
                     for name, body in topology.policies(
                         rabbitmq_version, shortest_personal_data_days(directory))],
        "exchanges": [{"name": e.name, "vhost": vhost, "type": e.type, "durable": e.durable,
                       "auto_delete": e.auto_delete, "internal": False, "arguments": {}}
                      for e in topology.EXCHANGES],
        "queues": [_queue(queue, vhost) for queue in queues],
        "bindings": bindings,
    }
