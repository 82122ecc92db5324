"""Forwarding headers are trusted only from `[server] trusted_proxies`: a client on loopback cannot
spread its failed logins over forged X-Forwarded-For addresses, and the log names the real peer."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import LiveServer
from verifier.demo.daemon import Daemon
from verifier.errors import ConfigError
from verifier.tokens import Scope


def fail_logins(url: str, count: int) -> list[int]:
    """Statuses of `count` failed logins, each claiming another X-Forwarded-For address."""
    with httpx.Client(base_url=url, timeout=10) as client:
        return [
            client.post(
                "/ui/login",
                data={"token": f"tg_guess-{n}"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(count)
        ]


def test_forged_forwarded_for_does_not_escape_the_login_limit(write_config, store_url: str):
    """Through `toolgate serve` itself, as deployed: no trusted proxy, a client on loopback."""
    config = write_config(store_url)
    url = f"http://{config.server.listen}"
    log = config.source_path.with_name("serve.log")
    daemon = Daemon(config.source_path, url, log).start()
    try:
        statuses = fail_logins(url, 12)
    finally:
        daemon.stop()
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    text = log.read_text()
    assert "203.0.113." not in text and "login failed from 127.0.0.1" in text


def test_a_trusted_proxy_s_forwarded_for_names_the_client_and_the_log_the_peer(
    live_server: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="verifier.web")
    server = live_server(extra_server='trusted_proxies = ["127.0.0.0/8"]\n')
    assert fail_logins(server.url, 12) == [401] * 12  # twelve clients behind it, one try each
    assert "203.0.113.11 (via 127.0.0.1)" in caplog.text
    token = server.token("reader", Scope.READ)
    with server.client() as client:  # the proxy terminated TLS: the session cookie is secure
        answer = client.post(
            "/ui/login", data={"token": token}, headers={"X-Forwarded-Proto": "https"}
        )
    assert answer.status_code == 303 and "secure" in answer.headers["set-cookie"].lower()


def test_trusted_proxies_must_be_addresses_or_networks(write_config):
    with pytest.raises(ConfigError, match=r"server\.trusted_proxies"):
        write_config(extra_server='trusted_proxies = ["proxy.example"]\n')
