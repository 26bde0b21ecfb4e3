"""Settings read from the environment, in one place, with their documented defaults.

``VARIABLES`` lists every environment variable the code reads: its name, default,
meaning and who reads it. The README's configuration table and the deployment's
Compose file and Kubernetes manifests are checked against it by the tests.
"""
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SERVICES = ("intake", "routing", "notify", "reporting")
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "reporting": 8004}
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/zerodistance"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT_URL = "http://guest:guest@127.0.0.1:15672"
ADMIN = "admin"  # the admin CLI, and the deployment's migration job that runs it
#: the services the admin CLI asks over HTTP, and the variable that says where each is
SERVICE_URL_VARIABLES = {"routing": "ZD_ROUTING_URL", "reporting": "ZD_REPORTING_URL"}
DECLARE_ALL, DECLARE_OWN = "all", "own"


@dataclass(frozen=True)
class Variable:
    """An environment variable; ``used_by`` names who must be given it in a deployment,
    ``optional_for`` who reads it when an operator chooses to give it (none by default)."""
    name: str
    default: str
    meaning: str
    used_by: tuple
    optional_for: tuple = ()


def _each_service(template, default, meaning, with_admin=False):
    return tuple(Variable(template.format(service.upper()), default, meaning.format(service=service),
                          (service, ADMIN) if with_admin else (service,))
                 for service in SERVICES)


VARIABLES = (
    Variable("ZD_DATABASE_URL", DEFAULT_DATABASE_URL,
             "PostgreSQL URL of a role that owns the database: the admin CLI and migration job"
             " use it; a service falls back to it when its own URL is unset (development)",
             (ADMIN,)),
    *_each_service("ZD_{}_DATABASE_URL", "ZD_DATABASE_URL",
                   "{service} connects with this URL's role; the migration job creates that role with"
                   " rights on the {service} schema only", with_admin=True),
    Variable("ZD_KEDA_DATABASE_URL", "",
             "PostgreSQL URL KEDA counts notify's notifications due with: the migration job"
             " creates its role, which may read the two columns that count filters on and"
             " nothing else; unset: no such role (Kubernetes only)", ()),
    Variable("ZD_AMQP_URI", DEFAULT_AMQP_URI,
             "RabbitMQ URI (vhost in the path; `amqps://` for TLS; several brokers separated by"
             " `;` to fail over) of a broker administrator: the admin CLI and migration job use"
             " it; a service falls back to it when its own URI is unset (development)", (ADMIN,)),
    *_each_service("ZD_{}_AMQP_URI", "ZD_AMQP_URI",
                   "{service} connects as this URI's user; the RabbitMQ definitions give that user"
                   " only what {service} needs", with_admin=True),
    Variable("ZD_AMQP_CA_FILE", "",
             "CA certificate an `amqps://` broker's certificate is verified against, by the"
             " broker connections alone (a private CA); unset: the system's CAs. Optional,"
             " wherever a broker URI is", ()),
    Variable("ZD_AMQP_HEARTBEAT_SECONDS", "10",
             "AMQP heartbeat, in whole seconds, a service's queue consumer asks of the broker"
             " (the broker's own lower value wins; 0 asks for none): a broker gone silent, a"
             " network partition that drops packets without a reset, is found within twice"
             " this, and /health says the broker is down; the consumer's socket also gives up"
             " on data unacknowledged for this long (`TCP_USER_TIMEOUT`) (see"
             " docs/operations.md, Probes)",
             SERVICES),
    Variable("ZD_RABBIT_MANAGEMENT_URL", DEFAULT_MANAGEMENT_URL,
             "RabbitMQ management API, with an administrator's user and password: department"
             " users and queue policies", (ADMIN,)),
    Variable("ZD_DECLARE_TOPOLOGY", DECLARE_ALL,
             "`all`: a service declares every exchange and queue (development). `own`: the"
             " topology comes from the RabbitMQ definitions; a service declares only its own"
             " queues and checks the exchanges exist", SERVICES),
    Variable("ZD_BIND", "127.0.0.1", "address the HTTP servers listen on (0.0.0.0 in containers)",
             SERVICES),
    *(Variable(f"ZD_{service.upper()}_PORT", str(port), f"{service}'s HTTP port", (service,))
      for service, port in DEFAULT_PORTS.items()),
    Variable("ZD_DB_POOL_SIZE", "10",
             "database connections per service process (the outbox relays have 2 more each)",
             SERVICES),
    Variable("ZD_RATE_LIMIT", "20",
             "requests per second per API key (burst 2x), across all instances", SERVICES),
    Variable("ZD_TRUSTED_PROXIES", "0",
             "how many reverse proxies (an ingress, a load balancer) stand in front of the"
             " HTTP services and append to X-Forwarded-For and set X-Forwarded-Proto: the"
             " client address that per-address limits count is the one that many hops back;"
             " 0: the connection's own address, forwarded headers ignored", ()),
    Variable("ZD_AUTH_FAILURES_PER_MINUTE", "30",
             "requests without a valid key per minute per client address (burst as many) and"
             " process; beyond them 429, before the database is asked", SERVICES),
    Variable("ZD_CONSUMER_PREFETCH", "64",
             "unacknowledged messages per queue and process (the largest batch)", SERVICES),
    Variable("ZD_CONSUMER_WORKERS", "4", "batches applied at once per queue and process", SERVICES),
    Variable("ZD_RETENTION_DAYS", "30",
             "days a published outbox row and an inbox record are kept", SERVICES),
    Variable("ZD_STALL_SECONDS", "60",
             "seconds without progress before /health calls a consumer or loop stalled", SERVICES),
    Variable("ZD_LOG_LEVEL", "INFO", "Python log level of a service process or the admin CLI",
             SERVICES + (ADMIN,)),
    Variable("ZD_LOG_FORMAT", "json",
             "`json`: one JSON object per log line (timestamp, level, service, logger, message,"
             " ticket_id, message_id, notification_id, trace_id and span_id while traces are on,"
             " exception); `text`: lines for a person (`make run` sets it)", SERVICES + (ADMIN,)),
    Variable("OTEL_EXPORTER_OTLP_ENDPOINT", "",
             "OpenTelemetry collector (OTLP over HTTP, e.g. `http://collector:4318`) a service"
             " sends its traces to, at `/v1/traces`; unset, with"
             " OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset too: no traces are made. The SDK reads"
             " its other standard `OTEL_` variables itself (headers, certificate, sampler)", (),
             SERVICES),
    Variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "",
             "the full URL traces are sent to (e.g. `http://collector:4318/v1/traces`), before"
             " OTEL_EXPORTER_OTLP_ENDPOINT", (), SERVICES),
    Variable("ZD_SIGN_IN_CODE_MINUTES", "10",
             "minutes a workbench sign-in code may be used", ("routing",)),
    Variable("ZD_SESSION_IDLE_MINUTES", "120",
             "minutes without a request after which a workbench session ends", ("routing",)),
    Variable("ZD_SESSION_HOURS", "12",
             "hours after sign-in at which a workbench session ends, however busy", ("routing",)),
    Variable("ZD_REPORTER_PAGE_DAYS", "30",
             "days a reporter's page of their concern stays open after the ticket became final"
             " (closed, merged, rejected)", ("intake",)),
    Variable("ZD_SMTP_URL", "",
             "SMTP server (`smtp://user:password@host:port`: STARTTLS, required with a password;"
             " `smtps://`: TLS from the start; certificate and name verified; `?cafile=` a"
             " private CA for this server; `?insecure=true` no TLS, for a development sink);"
             " unset: email skipped", ("notify",)),
    Variable("ZD_SMTP_FROM", "Zero Distance <noreply@zero-distance.local>", "email sender",
             ("notify",)),
    Variable("ZD_SMS_GATEWAY_URL", "", "SMS gateway (JSON POST); unset: SMS skipped", ("notify",)),
    Variable("ZD_WECHAT_GATEWAY_URL", "",
             "WeChat template message gateway (JSON POST); unset: WeChat skipped", ("notify",)),
    Variable("ZD_NOTIFY_TIMEOUT_SECONDS", "10",
             "seconds a call to a gateway, SMTP server or webhook may take in all, answer"
             " included; the claim's lease is twice that plus 10", ("notify",)),
    Variable("ZD_NOTIFY_CONCURRENCY", "4",
             "deliveries at once per destination (each webhook department, each gateway, the"
             " SMTP server) and notify process, to start with: a window of quick answers adds"
             " one, a failure to retry (429, 5xx, timeout) halves it", ("notify",)),
    Variable("ZD_CATEGORY_MODEL_SECONDS", "5",
             "routing chooses with the category model it read for this long before asking which"
             " is in use again: a model trained or retired is in use in every instance within"
             " this time (at once in the instance that trained or retired it)", ()),
    Variable("ZD_NOTIFY_MAX_CONCURRENCY", "32",
             "the most deliveries at once per destination and notify process (connections"
             " kept open to it too)", ("notify",)),
    Variable("ZD_NOTIFY_MAX_ATTEMPTS", "10",
             "attempts before a notification is parked as failed", ("notify",)),
    Variable("ZD_NOTIFY_RETRY_SECONDS", "2",
             "seconds before the first retry, doubled each time (at most 15 min)", ("notify",)),
    Variable("ZD_TICKET_LINK", "http://127.0.0.1:8002/workbench/tickets/{ticket_id}",
             "the link in staff messages: the ticket's page in the workbench", ("notify",)),
    Variable("ZD_WORKBENCH_URL", "http://127.0.0.1:8002/workbench/",
             "the workbench's address, in sign-in codes and a web department's dispatches",
             ("notify",)),
    Variable("ZD_REPORTER_LINK", "http://127.0.0.1:8001/c/{token}",
             "the link in every message to a reporter: their concern's own page on intake"
             " (no sign-in), `{token}` its page token", ("notify",)),
    Variable("ZD_DIRECTORY", "deploy/directory.yaml",
             "directory file(s) the admin CLI loads, comma-separated", (ADMIN,)),
    Variable("ZD_ADMIN_API_KEY", "",
             "an API key of the party `admin`, with which the admin CLI asks routing for the"
             " category report and reporting to rebuild its read model; needed by those two"
             " commands only", ()),
    Variable("ZD_ROUTING_URL", "http://127.0.0.1:8002",
             "routing's HTTP address, where the admin CLI asks for the category report; default:"
             " this machine, at ZD_ROUTING_PORT", ()),
    Variable("ZD_REPORTING_URL", "http://127.0.0.1:8004",
             "reporting's HTTP address, where the admin CLI asks for the read model's rebuild;"
             " default: this machine, at ZD_REPORTING_PORT", ()),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    amqp_uri: str
    management_url: str
    bind: str
    pool_size: int
    rate_limit: float
    declare_topology: str

    def port(self, service):
        return int(os.environ.get(f"ZD_{service.upper()}_PORT", DEFAULT_PORTS[service]))

    def web_address(self, service):
        return f"{self.bind}:{self.port(service)}"


def settings():
    env = os.environ.get
    declare = env("ZD_DECLARE_TOPOLOGY", DECLARE_ALL)
    if declare not in (DECLARE_ALL, DECLARE_OWN):
        raise ValueError(f"ZD_DECLARE_TOPOLOGY must be {DECLARE_ALL!r} or {DECLARE_OWN!r},"
                         f" not {declare!r}")
    return Settings(
        database_url=env("ZD_DATABASE_URL", DEFAULT_DATABASE_URL),
        amqp_uri=env("ZD_AMQP_URI", DEFAULT_AMQP_URI),
        management_url=env("ZD_RABBIT_MANAGEMENT_URL", DEFAULT_MANAGEMENT_URL),
        bind=env("ZD_BIND", "127.0.0.1"),
        pool_size=int(env("ZD_DB_POOL_SIZE", "10")),
        rate_limit=float(env("ZD_RATE_LIMIT", "20")),
        declare_topology=declare,
    )


def service_database_url(service):
    """The URL ``service`` connects with: its own role's, else the common one."""
    return os.environ.get(f"ZD_{service.upper()}_DATABASE_URL") or settings().database_url


def service_url(service):
    """The HTTP base URL at which the admin CLI asks ``service`` (``ZD_ROUTING_URL``,
    ``ZD_REPORTING_URL``); default: this machine, at the service's port."""
    given = os.environ.get(SERVICE_URL_VARIABLES[service])
    return (given or f"http://127.0.0.1:{settings().port(service)}").rstrip("/")


def admin_api_key():
    """The admin key the admin CLI asks the services with (``ZD_ADMIN_API_KEY``), or None."""
    return os.environ.get("ZD_ADMIN_API_KEY") or None


def service_amqp_uri(service):
    """The broker URI ``service`` connects with: its own user's, else the common one."""
    return os.environ.get(f"ZD_{service.upper()}_AMQP_URI") or settings().amqp_uri


def credentials_of(url):
    """``(user, password)`` of a database URL or broker URI (the first broker of a
    ``;``-separated list); either is None when the URL does not give it."""
    parts = urlsplit(url.split(";")[0].strip())
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return user, password


def amqp_ssl(uri):
    """kombu's ``ssl`` option for a broker URI. ``amqps://`` verifies the broker's
    certificate against the CA file ``ZD_AMQP_CA_FILE`` names (for these connections
    alone: the process's other TLS clients keep the system's CAs), else the system's CAs,
    and its host name against the broker the connection is using (``server_hostname:
    None``, so a ``;`` list fails over with each host's own name); plain ``amqp://`` has none."""
    if uri.split(";")[0].strip().startswith("amqps://"):
        ca_file = os.environ.get("ZD_AMQP_CA_FILE")
        return {"server_hostname": None, **({"ca_certs": ca_file} if ca_file else {})}
    return None


def sign_in_settings():
    """How long a workbench sign-in code and session live (docs/reference.md#configuration):
    whole minutes and hours, each at least 1."""
    env = os.environ.get
    given = {"ZD_SIGN_IN_CODE_MINUTES": env("ZD_SIGN_IN_CODE_MINUTES", "10"),
             "ZD_SESSION_IDLE_MINUTES": env("ZD_SESSION_IDLE_MINUTES", "120"),
             "ZD_SESSION_HOURS": env("ZD_SESSION_HOURS", "12")}
    chosen = {}
    for name, value in given.items():
        if not value.strip().isascii() or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"{name} must be a whole number above 0, not {value!r}")
        chosen[name] = int(value)
    return chosen


def trusted_proxies(value=None):
    """How many reverse proxies in front of a service set forwarded headers (0: none):
    ``value``, else the environment's."""
    value = str(os.environ.get("ZD_TRUSTED_PROXIES", "0") if value is None else value).strip() or "0"
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"ZD_TRUSTED_PROXIES must be a whole number, not {value!r}")
    return int(value)


def reporter_page_days():
    """How long a reporter's page stays open after its ticket became final, in whole days
    (at least 1; docs/reference.md#the-reporters-page)."""
    value = os.environ.get("ZD_REPORTER_PAGE_DAYS", "30").strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ValueError(f"ZD_REPORTER_PAGE_DAYS must be a whole number above 0, not {value!r}")
    return int(value)


def amqp_heartbeat():
    """The heartbeat the queue consumer's connection asks the broker for
    (``ZD_AMQP_HEARTBEAT_SECONDS``): whole seconds, as AMQP carries them; 0 asks for none."""
    value = os.environ.get("ZD_AMQP_HEARTBEAT_SECONDS", "10").strip()
    if not value.isascii() or not value.isdigit() or int(value) > 65535:
        raise ValueError(f"ZD_AMQP_HEARTBEAT_SECONDS must be a whole number of seconds (0 for"
                         f" none), not {value!r}")
    return int(value)


def nameko_config(service, overrides=None):
    """The nameko container config of one service process."""
    current = settings()
    config = {
        "AMQP_URI": service_amqp_uri(service),
        "AMQP_SSL": amqp_ssl(service_amqp_uri(service)),
        # nameko's key (nameko.constants.HEARTBEAT_CONFIG_KEY; its default, 60 s, finds a
        # silent broker in two minutes): the queue consumer's connection, whose state is
        # /health's broker. The outbox relays' connections have their own heartbeat.
        "HEARTBEAT": amqp_heartbeat(),
        "WEB_SERVER_ADDRESS": current.web_address(service),
        "max_workers": 16,  # consumers take at most ZD_CONSUMER_WORKERS per queue
        "ZD_CONSUMER_PREFETCH": int(os.environ.get("ZD_CONSUMER_PREFETCH", "64")),
        "ZD_CONSUMER_WORKERS": int(os.environ.get("ZD_CONSUMER_WORKERS", "4")),
        "ZD_DATABASE_URL": service_database_url(service),
        "ZD_DECLARE_TOPOLOGY": current.declare_topology,
        "ZD_POOL_SIZE": current.pool_size,
        "ZD_RATE_LIMIT": current.rate_limit,
        "ZD_AUTH_FAILURES_PER_MINUTE": float(os.environ.get("ZD_AUTH_FAILURES_PER_MINUTE", "30")),
        "ZD_TRUSTED_PROXIES": trusted_proxies(),
        "ZD_RETENTION_DAYS": int(os.environ.get("ZD_RETENTION_DAYS", "30")),
        "ZD_STALL_SECONDS": float(os.environ.get("ZD_STALL_SECONDS", "60")),
        **notify_settings(),
    }
    config.update(overrides or {})
    return config


def notify_settings():
    """The notification channels and their delivery policy (docs/reference.md#notification-channels)."""
    env = os.environ.get
    return {
        "ZD_SMTP_URL": env("ZD_SMTP_URL") or None,
        "ZD_SMTP_FROM": env("ZD_SMTP_FROM") or "Zero Distance <noreply@zero-distance.local>",
        "ZD_SMS_GATEWAY_URL": env("ZD_SMS_GATEWAY_URL") or None,
        "ZD_WECHAT_GATEWAY_URL": env("ZD_WECHAT_GATEWAY_URL") or None,
        "ZD_NOTIFY_TIMEOUT_SECONDS": float(env("ZD_NOTIFY_TIMEOUT_SECONDS", "10")),
        "ZD_NOTIFY_CONCURRENCY": int(env("ZD_NOTIFY_CONCURRENCY", "4")),
        "ZD_NOTIFY_MAX_CONCURRENCY": int(env("ZD_NOTIFY_MAX_CONCURRENCY", "32")),
        "ZD_NOTIFY_MAX_ATTEMPTS": int(env("ZD_NOTIFY_MAX_ATTEMPTS", "10")),
        "ZD_NOTIFY_RETRY_SECONDS": float(env("ZD_NOTIFY_RETRY_SECONDS", "2")),
        "ZD_TICKET_LINK": env("ZD_TICKET_LINK", "http://127.0.0.1:8002/workbench/tickets/{ticket_id}"),
        "ZD_WORKBENCH_URL": env("ZD_WORKBENCH_URL", "http://127.0.0.1:8002/workbench/"),
        "ZD_REPORTER_LINK": env("ZD_REPORTER_LINK", "http://127.0.0.1:8001/c/{token}"),
    }
