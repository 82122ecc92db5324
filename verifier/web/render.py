"""Rendering dashboard pages: one autoescaping Jinja2 environment and the response headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from verifier import __version__
from verifier.policy import Reason
from verifier.web.security import SECURITY_HEADERS


def _when(moment: datetime | str | None) -> str:
    """A timestamp as operators read it: `2026-03-19 18:22:05 UTC`."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(moment: datetime | None, now: datetime | None = None) -> str:
    """`3 min ago`, `2 h ago`, `5 d ago` (or `in 4 h` for the future)."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    else:
        amount = f"{int(seconds)} s"
    return f"in {amount}" if future else f"{amount} ago"


def _short(value: str | None, length: int = 12) -> str:
    """A commit or digest shortened for tables (the full value goes in a title)."""
    if not value:
        return "—"
    return value if len(value) <= length else value[:length] + "…"


def _reason_list(value: Any) -> list[Reason] | None:
    """Stored reason dicts (an incident's detail, an audit record) as `Reason`s, or None if
    `value` is not a list of them."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("code"), str) for item in value):
        return None
    fields = ("code", "expected", "found", "detail", "eligible_at")
    return [Reason(**{key: item.get(key) for key in fields}) for item in value]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("verifier.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when, ago=_ago, short=_short, from_json=orjson.loads, reason_list=_reason_list
    )
    env.globals["version"] = __version__
    return env


ENVIRONMENT = _environment()


def page(template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """A rendered page with the dashboard's security headers; never cached (it holds data)."""
    body = ENVIRONMENT.get_template(template).render(**context)
    response = HTMLResponse(body, status_code=status)
    apply_headers(response.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def apply_headers(headers: Any) -> None:
    """Add the security headers every dashboard response carries."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
