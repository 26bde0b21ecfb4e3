"""The broker's management HTTP API: vhosts, department users and queue policies.

What each user may do is ``services.admin.broker_access``'s.
"""
from urllib.parse import quote, unquote, urlsplit

import requests

from services.admin.broker_access import department_access, department_username
from services.common import topology

TIMEOUT = 10


def vhost_of(amqp_uri):
    """The vhost of a broker URI (of the first broker of a ``;``-separated list)."""
    path = urlsplit(amqp_uri.split(";")[0].strip()).path
    return unquote(path[1:]) if len(path) > 1 else "/"


class RabbitManagement:
    """A client of the management API at ``management_url`` (user and password in it)."""

    def __init__(self, management_url):
        parts = urlsplit(management_url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))

    def _put(self, path, body):
        response = requests.put(f"{self.base}/{path}", json=body, auth=self.auth, timeout=TIMEOUT)
        response.raise_for_status()

    def grant_department(self, department, password, vhost):
        user = department_username(department, vhost)
        access = department_access(department)
        self._put(f"users/{quote(user, safe='')}", {"password": password, "tags": ""})
        self._put(f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", {
            "configure": access.configure, "write": access.write, "read": access.read})
        for exchange, write in access.topic_write.items():
            self._put(f"topic-permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", {
                "exchange": exchange, "write": write, "read": "^$"})
        return user

    def delete_user(self, user):
        response = requests.delete(f"{self.base}/users/{quote(user, safe='')}", auth=self.auth,
                                   timeout=TIMEOUT)
        if response.status_code != 404:
            response.raise_for_status()

    def ensure_vhost(self, vhost):
        self._put(f"vhosts/{quote(vhost, safe='')}", {})
        self._put(f"permissions/{quote(vhost, safe='')}/{quote(self.auth[0], safe='')}",
                  {"configure": ".*", "write": ".*", "read": ".*"})

    def delete_vhost(self, vhost):
        response = requests.delete(f"{self.base}/vhosts/{quote(vhost, safe='')}",
                                   auth=self.auth, timeout=TIMEOUT)
        if response.status_code != 404:
            response.raise_for_status()

    def broker_version(self):
        response = requests.get(f"{self.base}/overview", auth=self.auth, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["rabbitmq_version"]

    def apply_policies(self, vhost, parked_days=topology.DEFAULT_PARKED_DAYS):
        """Set the topology's queue policies on ``vhost`` (idempotent); returns their names.
        Parked messages expire after ``parked_days``."""
        chosen = topology.policies(self.broker_version(), parked_days)
        for name, body in chosen:
            self._put(f"policies/{quote(vhost, safe='')}/{quote(name, safe='')}", body)
        return [name for name, _ in chosen]
