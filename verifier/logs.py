"""The daemon's log: one JSON object per line on stderr (journald keeps it), or plain text.

Fields: `ts`, `level`, `logger`, `message`, the request's `request_id` while one is handled, and
whatever a call site passes in `extra=` (`tool`, `decision`, …). Secrets never reach the log:
every secret toolgate reads is registered here (`verifier.config.read_secret` does it) and
replaced by `[redacted]` in each formatted line, as are bearer and toolgate tokens, whatever the
code that logged them did. Per-decision lines are deliberately absent: the audit trail is the
record of decisions, and the hot path must not pay for a log line per answer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "json", "text"]
REDACTED = "[redacted]"
# Shorter strings would blank out ordinary words; such a "secret" protects nothing anyway.
MIN_SECRET_LENGTH = 6
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")  # Authorization header credentials
_TOKENS = re.compile(
    r"\btg_[A-Za-z0-9_-]{20,}"  # toolgate API tokens
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"  # GitHub tokens
)
_SYSLOG_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Never print `value` (nor its JSON-escaped form) in a log line from now on."""
    value = value.strip()
    if len(value) >= MIN_SECRET_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with registered secrets and token-shaped strings replaced by `[redacted]`."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]  # as it appears in a JSON line
        if escaped != secret and escaped in text:
            text = text.replace(escaped, REDACTED)
    return _TOKENS.sub(REDACTED, _BEARER.sub(rf"\g<1>{REDACTED}", text))


class _RequestContext(logging.Filter):
    """Adds the id of the request being handled, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None and not hasattr(record, "request_id"):
            record.request_id = current
        return True


class _Redacting(logging.Formatter):
    """Formats with `inner`, then redacts the whole line (message, extras and traceback)."""

    def __init__(self, inner: logging.Formatter, *, syslog_prefix: bool) -> None:
        super().__init__()
        self._inner = inner
        self._syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        line = redact(self._inner.format(record))
        if self._syslog_prefix:  # journald reads "<N>" as the line's priority, then strips it
            return f"<{_SYSLOG_PRIORITY.get(record.levelname, 6)}>{line}"
        return line


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="ts",
        json_ensure_ascii=False,
    )


def configure_logging(log_format: LogFormat = "auto", level: str = "info") -> None:
    """Send every logger (toolgate's, uvicorn's, libraries') to stderr in the chosen format.

    `auto` is JSON unless stderr is a terminal. Safe to call again (on reload).
    """
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    inner = (
        _json_formatter()
        if use_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Redacting(inner, syslog_prefix=_to_journal()))
    handler.addFilter(_RequestContext())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs each request's full URL at INFO: webhook URLs may embed a token, and upstream
    # requests are counted by the watcher's own lines already.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _to_journal() -> bool:
    """Whether stderr is the journal's stream (systemd sets `JOURNAL_STREAM=dev:inode`)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{stat.st_dev}:{stat.st_ino}"
