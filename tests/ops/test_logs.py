"""Log lines: JSON fields, redaction of secrets and tokens whatever the call site logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier import logs
from verifier.logs import REDACTED, redact, register_secret


@pytest.fixture(autouse=True)
def _own_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(logs, "_secrets", set())  # this test's registrations stay here
    yield


def test_tokens_and_bearer_credentials_are_redacted_without_registration():
    line = (
        "Authorization: Bearer abc.def-ghi tg_"
        + "A" * 43
        + " ghp_"
        + "b" * 36
        + " github_pat_"
        + "c" * 40
        + " keep-this"
    )
    assert (
        redact(line)
        == f"Authorization: Bearer {REDACTED} {REDACTED} {REDACTED} {REDACTED} keep-this"
    )


@given(
    secret=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=6, max_size=40
    )
    .map(str.strip)
    .filter(lambda s: len(s) >= 6),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_a_registered_secret_never_survives_plain_or_json_escaped(secret, before, after):
    register_secret(secret)
    assert secret not in redact(before + secret + after)
    escaped = json.dumps(before + secret + after, ensure_ascii=False)
    assert json.dumps(secret, ensure_ascii=False)[1:-1] not in redact(escaped)


def test_short_values_are_not_treated_as_secrets():
    register_secret("abc")
    assert redact("abc abc") == "abc abc"


def test_json_lines_carry_the_fields_and_the_request_id(monkeypatch: pytest.MonkeyPatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logs.configure_logging("json", "info")
    register_secret("hunter2-password")
    token = logs.request_id.set("req-1")
    try:
        logging.getLogger("verifier.test").info(
            "smtp login with %s failed", "hunter2-password", extra={"tool": "trivy"}
        )
    finally:
        logs.request_id.reset(token)
        root.handlers[:], root.level = saved
    record = json.loads(stream.getvalue())
    assert record["message"] == f"smtp login with {REDACTED} failed"
    assert record["level"] == "INFO" and record["logger"] == "verifier.test"
    assert record["request_id"] == "req-1" and record["tool"] == "trivy" and record["ts"]
