"""Walking and reading: symlinks, size cap, binary files, deep nesting, aliases; and the
`--suggest-inventory` tables load as configuration."""

from __future__ import annotations

import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.scan.conftest import ScanRig
from verifier.config import load_config
from verifier.scan.extract import extract
from verifier.scan.parse import ParseFailure, parse
from verifier.scan.walk import walk

STEP = "on: push\njobs:\n  a:\n    steps:\n      - uses: o/r@v1\n"


def test_symlinks_inside_are_read_outside_are_reported_dirs_not_followed(tmp_path: Path):
    root = tmp_path / "repo"
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (root / "shared.yml").write_text(STEP)
    (workflows / "inside.yml").symlink_to(root / "shared.yml")
    (tmp_path / "secret.yml").write_text(STEP)
    (workflows / "outside.yml").symlink_to(tmp_path / "secret.yml")
    elsewhere = tmp_path / "elsewhere" / ".github" / "workflows"
    elsewhere.mkdir(parents=True)
    (elsewhere / "w.yml").write_text(STEP)
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    found = {c.relative: c for c in walk(root)}
    assert set(found) == {".github/workflows/inside.yml", ".github/workflows/outside.yml"}
    assert found[".github/workflows/inside.yml"].text == STEP
    assert found[".github/workflows/outside.yml"].text is None
    assert "outside the scanned tree" in (found[".github/workflows/outside.yml"].skipped or "")


def test_size_cap_binary_and_encoding(tmp_path: Path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "big.yml").write_text("a: b\n" * 100)
    (workflows / "latin1.yml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (workflows / "nul.yml").write_bytes(b"a: b\n\0")
    found = {c.relative.rsplit("/", 1)[1]: c.skipped for c in walk(tmp_path, max_bytes=100)}
    assert found == {
        "big.yml": "larger than 100 bytes",
        "latin1.yml": "not UTF-8 text (byte 9)",
        "nul.yml": "binary file (NUL bytes)",
    }


def test_a_single_file_can_be_scanned(tmp_path: Path):
    path = tmp_path / "anything.yaml"
    path.write_text(STEP)
    [candidate] = walk(path)
    assert candidate.relative == "anything.yaml" and candidate.text == STEP


def test_deep_nesting_is_a_parse_failure_not_a_crash():
    failure = parse("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert isinstance(failure, ParseFailure)


def test_invalid_yaml_names_the_position():
    failure = parse("a: [1, 2\nb: 3\n")
    assert isinstance(failure, ParseFailure) and failure.line == 2


def test_aliases_are_read_once():
    # Expanded, these aliases are 10^30 nodes: reading them once is the only way to finish at
    # all, so a generous deadline tells the two apart without measuring anything.
    levels = ["x0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    for n in range(1, 30):
        levels.append(f"x{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]")
    text = "\n".join(levels) + "\nstep: &s {uses: o/r@main}\njobs: {a: {steps: [*s, *s, *l29]}}\n"

    def subjects() -> list[str]:
        documents = parse(text)
        assert not isinstance(documents, ParseFailure)
        return [r.subject for r in extract("w.yml", text, documents)]

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(subjects).result(timeout=120) == ["o/r"]


def test_suggested_tables_load_as_inventory(rig: ScanRig):
    code, out = rig.run(str(rig.tree("go-release")), "--suggest-inventory")
    assert code == 0
    tools = tomllib.loads(out)["tool"]
    assert {t["source"] for t in tools} >= {
        "github:actions/setup-go",
        "github:sigstore/cosign",
        "github:golangci/golangci-lint",
    }
    setup_go = next(t for t in tools if t["source"] == "github:actions/setup-go")
    assert setup_go == {
        "name": "actions/setup-go",
        "source": "github:actions/setup-go",
        "kind": "action",
        "versions": ["v5", "v5.1.0"],
    }
    path = rig.config.source_path
    path.write_text(path.read_text() + "\n" + out)
    config = load_config(path)
    assert len(config.tools) == 6 + len(tools)


def test_usage_errors_exit_2(rig: ScanRig, tmp_path: Path):
    assert rig.run(str(tmp_path / "missing"))[0] == 2
    assert rig.run(str(tmp_path), "--fail-on", "severe")[0] == 2
    assert rig.run(str(tmp_path), "-o", str(tmp_path / "x"))[0] == 2


def test_table_output_shows_findings_with_their_brackets(rig: ScanRig):
    code, out = rig.run(str(rig.tree("trivy-scan")), "--offline")
    assert code == 3
    flat = " ".join(out.split())
    assert "tag-moved" in flat and "sha-comment-mismatch" not in flat  # offline: not asked
    assert "[github]" in flat and "[[tool]]" in flat  # printed as text, not taken for markup


TOKENS = [
    "uses: ",
    "run: ",
    "image: ",
    "script:",
    "services:",
    "container: ",
    "with:",
    "version: ",
    "<<: ",
    "&a ",
    "*a",
    "- ",
    "  ",
    "\n",
    "\t",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "|",
    ">",
    "#",
    "'",
    '"',
    "o/r@v1",
    "docker://x:1",
    "./local",
    "${{ matrix.v }}",
    "curl -L https://x | sh",
    "pip install a==1",
    "https://github.com/o/r/releases/download/v1/a.tgz",
    "!!str ",
    "?",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_extract_never_raises_on_arbitrary_yaml(tokens):
    text = "".join(tokens)
    documents = parse(text)
    if isinstance(documents, ParseFailure):
        assert documents.line >= 1 and documents.column >= 1
        return
    for reference in extract("w.yml", text, documents):
        assert 1 <= reference.location.line <= text.count("\n") + 1
