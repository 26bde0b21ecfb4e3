"""``Tracing``: the nameko dependency that gives each worker of a service its spans.

For an API request, a SERVER span current while its entrypoint runs (``tracing.request_span``),
so that what it emits continues the request's trace; for any worker, which service's spans
it makes (``tracing.serving``: a consumer's span of each message is the service's). Does
nothing while tracing is off. The spans themselves are ``services.common.tracing``'s.
"""
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler

from services.common import tracing
from services.common.http import client_problem
from services.common.log_context import ticket_id_in_path


class Tracing(DependencyProvider):
    def __init__(self):
        self.requests = WeakKeyDictionary()  # worker context: its request's span

    def worker_setup(self, worker_ctx):
        if not tracing.enabled():
            return
        tracing.serving(self.container.service_name)
        entrypoint = worker_ctx.entrypoint
        if isinstance(entrypoint, HttpRequestHandler):
            started = tracing.request_span(
                self.container.service_name, entrypoint.method, entrypoint.url,
                dict(worker_ctx.args[0].headers.items()), ticket_id_in_path(worker_ctx.kwargs))
            if started is not None:
                self.requests[worker_ctx] = started

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.requests.get(worker_ctx)
        if started is None:
            return
        if exc_info is None:
            tracing.request_answered(started, getattr(result, "status_code", 200))
            return
        problem = client_problem(exc_info[1])  # the HTTP edge's own table of errors
        if problem is not None:  # the client's error, not the service's
            tracing.request_answered(started, problem.status)
        else:
            tracing.request_answered(started, failure=exc_info[1])

    def worker_teardown(self, worker_ctx):
        tracing.request_done(self.requests.pop(worker_ctx, None))
