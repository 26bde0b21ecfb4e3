"""What the admin CLI asks of the services, over their HTTP APIs, with the admin key.

The admin reads no other service's tables: routing answers the category report and
trains, lists and retires its category models; reporting rebuilds its own read model.
Each service is asked at its URL (``ZD_ROUTING_URL``, ``ZD_REPORTING_URL``; default
this machine at its port) with the key ``ZD_ADMIN_API_KEY`` (a key of the party
``admin``). A service that cannot be reached, refuses the key or answers an error is a
``ServiceRefused`` whose text says what to do.
"""
import requests

from services.common.config import SERVICE_URL_VARIABLES, admin_api_key, service_url

CONNECT_SECONDS = 5
#: a rebuild answers when it is done: minutes for a large event log
REBUILD_SECONDS = 3600
REPORT_SECONDS = 60
TRAINING_SECONDS = 1800  # routing answers when the model is trained


class ServiceRefused(Exception):
    """The service could not be asked, or would not answer; the text says why."""


def category_report(days):
    """Routing's category report of the last ``days`` days (its JSON answer)."""
    return _ask("routing", "GET", "/api/v1/category-report", {"days": days}, REPORT_SECONDS)


def category_models():
    """The category models routing holds, newest first."""
    return _ask("routing", "GET", "/api/v1/category-models", None, REPORT_SECONDS)["models"]


def train_category_model(days, with_corpus):
    """Routing trains a category model and uses it at once: the model's row."""
    return _ask("routing", "POST", "/api/v1/category-models", None, TRAINING_SECONDS,
                body={"days": days, "with_corpus": with_corpus})


def retire_category_models():
    """Routing uses no model any more: how many it retired."""
    return _ask("routing", "POST", "/api/v1/category-models/retire", None, REPORT_SECONDS)["retired"]


def rebuild_read_model():
    """Reporting's read model rebuilt from its event log: the counts of its answer."""
    return _ask("reporting", "POST", "/api/v1/read-model/rebuild", None, REBUILD_SECONDS)


def _ask(service, method, path, params, seconds, body=None):
    key = admin_api_key()
    if not key:
        raise ServiceRefused(f"set ZD_ADMIN_API_KEY to a key of the party admin: {service} is"
                             " asked with it")
    base = service_url(service)
    try:
        answer = requests.request(method, f"{base}{path}", params=params, timeout=(CONNECT_SECONDS, seconds),
                                  headers={"Authorization": f"Bearer {key}"}, json=body)
    except requests.RequestException as exc:
        raise ServiceRefused(f"{service} cannot be reached at {base} ({type(exc).__name__}): is it"
                             f" running? {SERVICE_URL_VARIABLES[service]} says where it is") from exc
    if answer.status_code in (401, 403):
        raise ServiceRefused(f"{service} refused the key in ZD_ADMIN_API_KEY ({answer.status_code}:"
                             f" {_detail(answer)}); give it an active key of the party admin")
    if answer.status_code not in (200, 201):
        raise ServiceRefused(f"{service} answered {answer.status_code}: {_detail(answer)}")
    return answer.json()


def _detail(answer):
    """The problem's detail of an error answer, else the start of its text."""
    try:
        problem = answer.json()
        return f"{problem['detail']} {problem['errors']}" if problem.get("errors") else problem["detail"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return answer.text[:200]
