"""Settings read from the environment, in one place, with their documented defaults.

| variable | default |
| --- | --- |
| ZD_DATABASE_URL | postgresql://postgres@127.0.0.1:5432/zerodistance |
| ZD_AMQP_URI | amqp://guest:guest@127.0.0.1:5672/ |
| ZD_RABBIT_MANAGEMENT_URL | http://guest:guest@127.0.0.1:15672 |
| ZD_BIND | 127.0.0.1 |
| ZD_INTAKE_PORT, ZD_ROUTING_PORT, ZD_NOTIFY_PORT, ZD_REPORTING_PORT | 8001-8004 |
| ZD_DB_POOL_SIZE | 10 connections per service process (the relay has 2 more) |
| ZD_RATE_LIMIT | 20 requests per second per API key (burst 2x), across all instances |
| ZD_CONSUMER_PREFETCH | 64 unacknowledged messages per queue and process (the largest batch) |
| ZD_CONSUMER_WORKERS | 4 batches at once per queue and process |
| ZD_RETENTION_DAYS | 30 days a published outbox row and an inbox record are kept |
| ZD_STALL_SECONDS | 60 seconds without progress before /health calls a consumer or loop stalled |
| ZD_SMTP_URL, ZD_SMTP_FROM | unset (email skipped); sender ``Zero Distance <noreply@zero-distance.local>`` |
| ZD_SMS_GATEWAY_URL, ZD_WECHAT_GATEWAY_URL | unset (that channel skipped) |
| ZD_NOTIFY_TIMEOUT_SECONDS | 10 seconds per call to a gateway, SMTP server or webhook |
| ZD_NOTIFY_CONCURRENCY | 4 deliveries at once per channel and notify process |
| ZD_NOTIFY_MAX_ATTEMPTS | 10 attempts before a notification is parked as failed |
| ZD_NOTIFY_RETRY_SECONDS | 2 seconds before the first retry, doubled each time (at most 15 min) |
| ZD_TICKET_LINK | ``http://127.0.0.1:8002/api/v1/tickets/{ticket_id}``: the link in staff messages |
"""
import os
from dataclasses import dataclass

DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "notify": 8003, "reporting": 8004}


@dataclass(frozen=True)
class Settings:
    database_url: str
    amqp_uri: str
    management_url: str
    bind: str
    pool_size: int
    rate_limit: float

    def port(self, service):
        return int(os.environ.get(f"ZD_{service.upper()}_PORT", DEFAULT_PORTS[service]))

    def web_address(self, service):
        return f"{self.bind}:{self.port(service)}"


def settings():
    env = os.environ.get
    return Settings(
        database_url=env("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zerodistance"),
        amqp_uri=env("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        management_url=env("ZD_RABBIT_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:15672"),
        bind=env("ZD_BIND", "127.0.0.1"),
        pool_size=int(env("ZD_DB_POOL_SIZE", "10")),
        rate_limit=float(env("ZD_RATE_LIMIT", "20")),
    )


def nameko_config(service, overrides=None):
    """The nameko container config of one service process."""
    current = settings()
    config = {
        "AMQP_URI": current.amqp_uri,
        "WEB_SERVER_ADDRESS": current.web_address(service),
        "max_workers": 16,  # consumers take at most ZD_CONSUMER_WORKERS per queue
        "ZD_CONSUMER_PREFETCH": int(os.environ.get("ZD_CONSUMER_PREFETCH", "64")),
        "ZD_CONSUMER_WORKERS": int(os.environ.get("ZD_CONSUMER_WORKERS", "4")),
        "ZD_DATABASE_URL": current.database_url,
        "ZD_POOL_SIZE": current.pool_size,
        "ZD_RATE_LIMIT": current.rate_limit,
        "ZD_RETENTION_DAYS": int(os.environ.get("ZD_RETENTION_DAYS", "30")),
        "ZD_STALL_SECONDS": float(os.environ.get("ZD_STALL_SECONDS", "60")),
        **notify_settings(),
    }
    config.update(overrides or {})
    return config


def notify_settings():
    """The notification channels and their delivery policy (contract §2, §8)."""
    env = os.environ.get
    return {
        "ZD_SMTP_URL": env("ZD_SMTP_URL") or None,
        "ZD_SMTP_FROM": env("ZD_SMTP_FROM") or "Zero Distance <noreply@zero-distance.local>",
        "ZD_SMS_GATEWAY_URL": env("ZD_SMS_GATEWAY_URL") or None,
        "ZD_WECHAT_GATEWAY_URL": env("ZD_WECHAT_GATEWAY_URL") or None,
        "ZD_NOTIFY_TIMEOUT_SECONDS": float(env("ZD_NOTIFY_TIMEOUT_SECONDS", "10")),
        "ZD_NOTIFY_CONCURRENCY": int(env("ZD_NOTIFY_CONCURRENCY", "4")),
        "ZD_NOTIFY_MAX_ATTEMPTS": int(env("ZD_NOTIFY_MAX_ATTEMPTS", "10")),
        "ZD_NOTIFY_RETRY_SECONDS": float(env("ZD_NOTIFY_RETRY_SECONDS", "2")),
        "ZD_TICKET_LINK": env("ZD_TICKET_LINK", "http://127.0.0.1:8002/api/v1/tickets/{ticket_id}"),
    }
