"""The client's address and scheme behind trusted reverse proxies (``ZD_TRUSTED_PROXIES``):
what per-address limits count and what makes a cookie Secure."""
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from services.common import config
from services.common.http import behind_proxies


@Request.application
def echo(request):
    return Response(f"{request.remote_addr} {request.scheme}")


def seen(hops, headers):
    return Client(behind_proxies(echo, hops)).get("/", headers=headers,
                                                  environ_base={"REMOTE_ADDR": "10.0.0.2"}).text


def test_without_trusted_proxies_a_forwarded_header_is_not_believed():
    assert seen(0, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}) == "10.0.0.2 http"


def test_behind_one_proxy_the_address_it_saw_is_the_client_s():
    forged_then_real = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}
    assert seen(1, forged_then_real) == "203.0.113.7 https", "what the client sent itself is not believed"
    assert seen(2, {**forged_then_real, "X-Forwarded-Proto": "http, https"}) == "198.51.100.1 http"


def test_a_request_without_the_header_keeps_the_connection_s_address():
    assert seen(1, {}) == "10.0.0.2 http"


@pytest.mark.parametrize("value, hops", [("", 0), ("0", 0), ("1", 1), (" 2 ", 2)])
def test_the_number_of_proxies_is_read_from_the_environment(monkeypatch, value, hops):
    monkeypatch.setenv("ZD_TRUSTED_PROXIES", value)
    assert config.trusted_proxies() == hops


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "١"])
def test_anything_but_a_whole_number_of_proxies_is_refused(monkeypatch, value):
    monkeypatch.setenv("ZD_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError, match="ZD_TRUSTED_PROXIES"):
        config.trusted_proxies()
