"""Forwarding headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from the proxies in
`[server] trusted_proxies`; the connection's own address is kept for the logs.

uvicorn's own proxy handling is switched off where toolgate runs it (it trusts 127.0.0.1 by
default, so any local process could claim to be anyone); its middleware is applied here instead,
behind one that remembers the real peer."""

from __future__ import annotations

from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from verifier.api.decision import ASGIApp, Receive, Scope_, Send

PEER = "toolgate.peer"


class _KeepPeer:
    """Pure ASGI: remember the connection's address before forwarding headers replace it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        scope[PEER] = scope.get("client")
        await self.app(scope, receive, send)


def trust_proxies(app: FastAPI, trusted: list[str]) -> None:
    """Let the addresses or networks in `trusted` (none by default) name the client. Without
    any, the peer is the client: neither layer is added (nothing more on the decision path)."""
    if trusted:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
        app.add_middleware(_KeepPeer)  # added last: runs first


def describe_client(request: Request) -> str:
    """The client's address, and the proxy's if a trusted proxy named the client."""
    client = request.client.host if request.client else "unknown"
    peer = request.scope.get(PEER)
    return client if not peer or peer[0] == client else f"{client} (via {peer[0]})"
