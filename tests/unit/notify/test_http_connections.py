"""The HTTP channels keep a connection per sender to each destination, and read the
environment's proxies once per destination, not on every call."""
from services.notify.channels import http
from services.notify.channels.gateway import GatewayChannel


def test_a_gateway_keeps_as_many_connections_as_it_has_senders():
    channel = GatewayChannel("sms", "http://gateway.example/sms", 5, senders=24)
    adapter = channel.session.get_adapter("http://gateway.example/sms")
    assert adapter._pool_maxsize == 24 and not channel.session.trust_env


def test_the_environments_proxy_is_read_once_per_destination(monkeypatch):
    http.proxies_for.cache_clear()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "bypassed.example")
    assert http.proxies_for("https://gateway.example/sms")["https"] == "http://proxy.internal:3128"
    assert "https" not in http.proxies_for("https://bypassed.example/hook")
    monkeypatch.setenv("HTTPS_PROXY", "http://another.internal:3128")
    assert http.proxies_for("https://gateway.example/sms")["https"] == "http://proxy.internal:3128"
    http.proxies_for.cache_clear()
