"""`--offline` never writes the store; libyaml's node graph is the Python loader's, position for
position; nesting deeper than the walkers can follow is a parse error, not a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from tests.scan.conftest import CORPUS, ScanRig
from tests.scan.test_files import TOKENS
from verifier.cli import app
from verifier.scan.parse import ParseFailure, parse
from verifier.scan.scan import scan
from verifier.store.engine import create_store_engine
from verifier.store.models import ToolRow

NEW_TOOL = '\n[[tool]]\nname = "syft"\nsource = "github:anchore/syft"\n'
TRICKY = (
    "name: é ü 日本 \U0001f600\non:\n  push:\njobs:\n  a:\n    steps:\n"
    '      - uses: actions/checkout@v4 # ☃\n        with: {x: "日本"}\n'
    "      - run: |\n          echo 日本 \\\n          && curl -L https://x/a.tgz | sh\n",
    "a: 1\r\nb:\r\n  - c\r\n  - 'd'\r\n",
    "\ufeffjobs: {a: {steps: [{uses: o/r@v1}]}}\n",
    "x: &a {uses: o/r@main}\ny: *a\n<<: *a\n---\nk: >\n  folded\n  text\n...\n",
)


def _stored_tools(store_url: str) -> set[str]:
    engine = create_store_engine(store_url)
    try:
        with Session(engine) as session:
            return set(session.scalars(select(ToolRow.name)))
    finally:
        engine.dispose()


def test_offline_scan_leaves_the_store_as_it_is(rig: ScanRig):
    before = _stored_tools(rig.config.store_url)
    config = rig.config.source_path
    config.write_text(config.read_text() + NEW_TOOL)  # an online scan would sync it in
    code, report = rig.json(str(rig.tree("trivy-scan")), "--offline")
    assert code == 3 and report["references"]
    assert "tag-moved" in {finding["rule"] for finding in report["findings"]}  # read the pins
    assert _stored_tools(rig.config.store_url) == before and "syft" not in before


def test_offline_scan_without_a_store_creates_none(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "state"{NEW_TOOL}')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".gitlab-ci.yml").write_text((CORPUS / "gitlab" / ".gitlab-ci.yml").read_text())
    result = CliRunner().invoke(app, ["scan", str(tree), "--offline", "--config", str(config)])
    assert result.exit_code in (0, 1, 3), result.output
    assert "references in" in result.stdout or "toolgate scan:" in result.stdout
    assert not (tmp_path / "state").exists()


def _positions(documents: list[yaml.Node]) -> list[tuple]:
    seen: set[int] = set()
    out: list[tuple] = []
    stack = list(reversed(documents))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        start, end = node.start_mark, node.end_mark
        value = node.value if isinstance(node.value, str) else None
        where = (start.line, start.column, start.index, end.index)
        if value == "":  # an empty scalar has no text: the loaders place it differently
            where = ()
        out.append((type(node), node.tag, value, *where))
        if isinstance(node.value, list):
            children = [
                c for item in node.value for c in (item if isinstance(item, tuple) else (item,))
            ]
            stack.extend(reversed(children))
    return out


def _python_loader(text: str) -> list[tuple] | None:
    try:
        return _positions([n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n])
    except (yaml.YAMLError, RecursionError):
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_libyaml_positions_are_the_python_loaders(tokens: list[str]):
    text = "".join(tokens)
    documents, expected = parse(text), _python_loader(text)
    if isinstance(documents, ParseFailure):
        assert expected is None
    elif expected is not None:  # libyaml also reads a few texts PyYAML rejects (tabs after ':')
        assert _positions(documents) == expected


def test_corpus_and_tricky_texts_read_alike():
    files = [path for path in CORPUS.rglob("*.y*ml") if "bad-input" not in path.parts]
    texts = [path.read_text() for path in files]
    for text in [*texts, *TRICKY]:
        documents = parse(text)
        expected = _python_loader(text)
        assert expected is not None and not isinstance(documents, ParseFailure)
        assert _positions(documents) == expected


def test_nesting_deeper_than_the_walkers_is_a_parse_error(tmp_path: Path):
    deep = tmp_path / ".gitlab-ci.yml"
    deep.write_text("job: " + "{a: " * 900 + "1" + "}" * 900 + "\n")
    result, _ = scan([tmp_path], lambda reference: [])
    [finding] = result.findings
    assert (finding.rule, finding.message) == (
        "parse-error",
        "not valid YAML: nested too deeply to read",
    )
