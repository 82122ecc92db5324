"""Every report kind in every format, from a store populated through the public interfaces."""

from __future__ import annotations

import csv
import io
import re

import orjson
import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from typer.testing import CliRunner

from tests.conftest import run_python
from tests.reports.conftest import Store
from verifier.cli import app
from verifier.reports import FORMATS, KINDS, ReportError, render
from verifier.reports.formats import FORMATS as WRITERS

_EXTERNAL = re.compile(
    r"""(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import|<script|<link|<iframe|<object|<embed""",
    re.IGNORECASE,
)


def _check(kind: str, fmt: str, body: bytes) -> None:
    """The checks that apply to any report in `fmt`."""
    text = body.decode("utf-8")
    if fmt == "json":
        assert orjson.loads(body)["kind"] == kind
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows and all(len(row) == len(rows[0]) for row in rows)
    elif fmt == "md":
        assert text.startswith("# toolgate ")
        assert re.search(r"^\|( [^|]+ \|)+$\n^\|(---\|)+$", text, re.MULTILINE)
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
        assert _EXTERNAL.search(text) is None, _EXTERNAL.search(text)
        assert (
            "http://" not in text.split("<body>")[0] and "https://" not in text.split("<body>")[0]
        )
    else:
        errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
        assert errors is None, errors
        assert orjson.loads(body)["specVersion"] == "1.6"


def test_every_kind_in_every_format_is_valid_and_deterministic(populated) -> None:
    store: Store = populated()
    for kind in KINDS:
        for fmt in FORMATS:
            first = render(kind, fmt, store.engine, store.config, store.now)
            _check(kind, fmt, first)
            assert render(kind, fmt, store.engine, store.config, store.now) == first, (kind, fmt)


def _versions(store: Store) -> dict[tuple[str, str], dict]:
    document = orjson.loads(render("inventory", "json", store.engine, store.config, store.now))
    return {(t["name"], v["version"]): v for t in document["tools"] for v in t["versions"]}


def test_inventory_shows_decisions_reasons_and_verification_evidence(populated) -> None:
    from tests.watcher.conftest import ASSET, SOURCE_COMMIT, WHEEL_SHA256, WORKFLOW

    store: Store = populated()
    versions = _versions(store)
    poisoned = versions[("trivy", "0.69.4")]
    assert poisoned["decision"] == "deny"
    codes = [reason["code"] for reason in poisoned["reasons"]]
    assert "manual-block" in codes and "advisory" in codes
    [block] = [o for o in poisoned["overrides"] if o["kind"] == "block"]
    assert block["reason"] == "poisoned release, GHSA-69fq-xp46-6x23"
    assert [(a["advisory_id"], a["state"]) for a in poisoned["advisories"]] == [
        ("GHSA-69fq-xp46-6x23", "deny")
    ]
    wheel = versions[("rfc8785", "v0.1.2")]
    assert (wheel["status"], wheel["decision"], wheel["commit"]) == (
        "verified",
        "allow",
        SOURCE_COMMIT,
    )
    [asset] = wheel["assets"]
    assert (asset["name"], asset["sha256"]) == (ASSET, WHEEL_SHA256)
    assert asset["published_digest"] == f"sha256:{WHEEL_SHA256}" and asset["first_seen_at"]
    assert asset["checksum_source"].startswith("SHA256SUMS")
    [signature] = wheel["signatures"]
    assert signature["signer"] == f"{WORKFLOW}@refs/tags/v0.1.2"
    assert signature["issuer"] == "https://token.actions.githubusercontent.com"
    assert signature["rekor_log_index"] is not None
    assert wheel["release_url"] == "https://github.com/trailofbits/rfc8785.py/releases/tag/v0.1.2"
    # newest first within a tool
    assert [v for t, v in versions if t == "trivy"] == ["0.69.5", "0.69.4", "0.69.3"]


def test_advisory_states_follow_waivers(populated) -> None:
    store: Store = populated()
    document = orjson.loads(render("advisories", "json", store.engine, store.config, store.now))
    states = {(m["version"], m["advisory_id"]): m["state"] for m in document["matches"]}
    assert states == {
        ("0.69.4", "GHSA-69fq-xp46-6x23"): "deny",
        ("0.69.5", "GHSA-69fq-xp46-6x23"): "waived",
    }
    waived = next(m for m in document["matches"] if m["state"] == "waived")
    assert "our own rebuild" in waived["waiver"]
    assert "CVE-2026-33634" in waived["aliases"]


def _csv_keys(kind: str, document: dict) -> list[tuple[str, str, str]]:
    """(tool, version, decision) of each row the CSV of `kind` should have, from the JSON."""
    if kind == "inventory":
        return [
            (t["name"], v["version"], v["decision"])
            for t in document["tools"]
            for v in t["versions"]
        ]
    if kind == "verification":
        return [
            (t["name"], v["version"], v["decision"])
            for t in document["tools"]
            for v in t["versions"]
            for _asset in v["assets"] or [None]
        ]
    if kind == "advisories":
        return [(m["tool"], m["version"], m["decision"]) for m in document["matches"]]
    if kind == "exposure":
        return [
            (e["tool"], e["version"], e["decision"])
            for e in document["exposures"]
            for _r in e["runners"]
        ]
    return [(d["tool"], d["version"], d["decision"]) for d in document["decisions"]]


def test_csv_parses_back_to_the_json(populated) -> None:
    store: Store = populated()
    for kind in KINDS:
        body = render(kind, "csv", store.engine, store.config, store.now).decode()
        rows = list(csv.DictReader(io.StringIO(body, newline="")))
        document = orjson.loads(render(kind, "json", store.engine, store.config, store.now))
        expected = _csv_keys(kind, document)
        decision = "decision now" if kind == "exposure" else "decision"
        assert [(r["tool"], r["version"], r[decision]) for r in rows] == expected, kind
        assert expected, f"the {kind} report of the populated store is empty"


def test_exposure_lists_runners_of_versions_denied_now(populated) -> None:
    store: Store = populated()
    document = orjson.loads(render("exposure", "json", store.engine, store.config, store.now))
    [entry] = document["exposures"]  # 0.69.3 and the wheel are allowed: no exposure
    assert (entry["tool"], entry["version"], entry["decision"]) == ("trivy", "0.69.4", "deny")
    runners = {r["runner"]: r["fetches"] for r in entry["runners"]}
    assert runners == {"runner-1": 2, "runner-2": 1}  # 0.69.4 and v0.69.4 are one version
    assert document["advice"]


def test_audit_lists_decisions_and_operator_actions(populated) -> None:
    store: Store = populated()
    document = orjson.loads(render("audit", "json", store.engine, store.config, store.now))
    assert len(document["decisions"]) == 5
    assert [d["at"] for d in document["decisions"]] == sorted(
        (d["at"] for d in document["decisions"]), reverse=True
    )
    actions = {e["action"] for e in document["events"]}
    assert {"approve", "block", "waive"} <= actions


def test_cyclonedx_maps_versions_hashes_evidence_and_analysis(populated) -> None:
    from tests.watcher.conftest import WHEEL_SHA256

    store: Store = populated()
    bom = orjson.loads(render("exposure", "cyclonedx", store.engine, store.config, store.now))
    components = {c["bom-ref"]: c for c in bom["components"]}
    wheel = components["rfc8785@v0.1.2"]
    assert wheel["purl"] == "pkg:github/trailofbits/rfc8785.py@v0.1.2"
    assert wheel["hashes"] == [{"alg": "SHA-256", "content": WHEEL_SHA256}]
    assert wheel["components"][0]["hashes"][0]["content"] == WHEEL_SHA256
    kinds = {ref["type"] for ref in wheel["externalReferences"]}
    assert kinds == {"distribution", "attestation", "vcs"}
    poisoned = components["trivy@0.69.4"]
    properties = {p["name"]: p["value"] for p in poisoned["properties"]}
    assert properties["toolgate:decision"] == "deny"
    assert properties["toolgate:exposed-runners"] == "2"
    analysis = {v["affects"][0]["ref"]: v["analysis"] for v in bom["vulnerabilities"]}
    assert analysis["trivy@0.69.4"]["state"] == "exploitable"
    assert analysis["trivy@0.69.5"]["state"] == "not_affected"
    assert "our own rebuild" in analysis["trivy@0.69.5"]["detail"]
    metadata = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
    assert metadata["toolgate:report-kind"] == "exposure"
    assert metadata["toolgate:policy-revision"].isdigit()
    # the library reads it back into its own model: components, hashes and analysis intact
    model = Bom.from_json(bom)  # type: ignore[attr-defined]
    loaded = {str(c.bom_ref): c for c in model.components}
    assert [h.content for h in loaded["rfc8785@v0.1.2"].hashes] == [WHEEL_SHA256]
    states = {str(v.bom_ref): v.analysis.state.value for v in model.vulnerabilities}
    assert states["GHSA-69fq-xp46-6x23/trivy@0.69.5"] == "not_affected"


def test_html_escapes_what_operators_wrote(populated) -> None:
    store: Store = populated()
    store.cli("block", "cosign", "--reason", '<script src="https://evil.example/x.js"></script>')
    page = render("inventory", "html", store.engine, store.config, store.now).decode()
    assert "<script" not in page and _EXTERNAL.search(page) is None
    assert "&lt;script src=&quot;https://evil.example/x.js&quot;&gt;" in page
    markdown = render("inventory", "md", store.engine, store.config, store.now).decode()
    assert "\\<script" in markdown


def test_unknown_kind_format_or_naive_time_is_an_error(populated) -> None:
    store: Store = populated()
    with pytest.raises(ReportError, match="unknown report kind"):
        render("sbom", "json", store.engine, store.config, store.now)
    with pytest.raises(ReportError, match="unknown report format"):
        render("inventory", "pdf", store.engine, store.config, store.now)
    with pytest.raises(ReportError, match="timezone-aware"):
        render("inventory", "json", store.engine, store.config, store.now.replace(tzinfo=None))


def test_cli_writes_the_report_to_stdout_or_a_file(populated, tmp_path) -> None:
    store: Store = populated()
    config = ["--config", str(store.config.source_path)]
    runner = CliRunner()
    printed = runner.invoke(app, ["report", "advisories", "--format", "json", *config])
    assert printed.exit_code == 0, printed.output
    assert orjson.loads(printed.stdout)["kind"] == "advisories"
    target = tmp_path / "inventory.cdx.json"
    written = runner.invoke(
        app, ["report", "inventory", "-f", "cyclonedx", "-o", str(target), *config]
    )
    assert written.exit_code == 0, written.output
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(target.read_text()) is None
    for bad in (["report", "sbom", *config], ["report", "inventory", "-f", "pdf", *config]):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2 and "unknown" in result.output


def test_an_unevaluated_advisory_shows_in_reports(populated, tmp_path) -> None:
    store: Store = populated()
    record = {
        "id": "GHSA-unread-able0-0002",
        "modified": "2026-03-20T00:00:00Z",
        "summary": "a fix event that is not a Go version",
        "affected": [
            {
                "package": {"ecosystem": "Go", "name": "github.com/aquasecurity/trivy"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "soon"}]}
                ],
            }
        ],
    }
    path = tmp_path / "unreadable.json"
    path.write_bytes(orjson.dumps(record))
    store.cli("advisories", "import", str(path))
    document = orjson.loads(render("advisories", "json", store.engine, store.config, store.now))
    unevaluated = [m for m in document["matches"] if m["advisory_id"] == "GHSA-unread-able0-0002"]
    assert unevaluated and all(m["unevaluated"] and m["state"] == "warn" for m in unevaluated)
    assert "'soon' is not a valid Go version" in unevaluated[0]["detail"]
    bom = orjson.loads(render("advisories", "cyclonedx", store.engine, store.config, store.now))
    found = [v for v in bom["vulnerabilities"] if v["id"] == "GHSA-unread-able0-0002"]
    assert found  # one per affected version
    for vulnerability in found:
        assert vulnerability["analysis"]["state"] == "in_triage"
        assert "could not evaluate" in vulnerability["analysis"]["detail"]


def test_each_format_module_is_imported_on_first_use_only() -> None:
    """`--format json` imports neither the CycloneDX library nor the advisory feeds' network
    clients; every format name maps to its writer."""
    script = (
        "import sys\n"
        "from verifier.reports import render\n"
        "from verifier.reports.formats import FORMATS\n"
        "assert not {'cyclonedx', 'httpx', 'feedparser'} & set(sys.modules)\n"
        "assert FORMATS['json'].name == 'json' and 'cyclonedx' not in sys.modules\n"
        "assert all(FORMATS[name].name == name for name in FORMATS)\n"
        "assert 'cyclonedx' in sys.modules\n"
    )
    run_python(script)
    with pytest.raises(KeyError):
        WRITERS["pdf"]
