"""Configuration: the bundled example loads; every error names file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.config import load_config, read_secret
from verifier.durations import format_duration, parse_duration
from verifier.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
[policy]
unknown = "deny"

[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"

[[tool]]
name = "cosign"
source = "github:sigstore/cosign"

[[tool]]
name = "terraform"
source = "url:https://releases.hashicorp.com/terraform/{version}/terraform.zip"
versions = [">=1.9"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_the_bundled_config_loads_with_the_named_tools():
    config = load_config(ROOT / "config.toml")
    names = {tool.name for tool in config.tools}
    assert {"trivy", "cosign", "syft", "terraform", "kubectl"} <= names
    assert {"aquasecurity/trivy-action", "aquasecurity/setup-trivy", "actions/checkout"} <= names
    assert config.tool("trivy").source == "github:aquasecurity/trivy"
    assert config.policy.cooldown == timedelta(hours=72)
    assert config.store_url.endswith("/state/toolgate.db")


def test_bad_specifier_names_file_line_and_key(tmp_path: Path):
    text = MINIMAL.replace('versions = [">=1.9"]', 'versions = [">=0.6O"]')
    message = error_of(tmp_path, text)
    where = tmp_path / "config.toml"
    assert message == f'{where}:15: tool[2].versions: ">=0.6O" is not a valid version specifier'


def test_inline_table_errors_point_at_the_key_line(tmp_path: Path):
    text = MINIMAL + 'signature = { identity_regexp = "https://github.com/x" }\n'
    message = error_of(tmp_path, text)
    assert ":16: tool[2].signature.identity_regexp:" in message
    assert "anchored" in message


def test_inline_secrets_are_refused_with_advice(tmp_path: Path):
    message = error_of(tmp_path, '[github]\ntoken = "ghp_abc"\n')
    assert ":2: github.token:" in message
    assert "token_file" in message
    assert "ghp_abc" not in message


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('[policy]\nunknown = "allow"\n', ":2: policy.unknown:"),
        ('[policy]\ncooldown = "3 days"\n', ':2: policy.cooldown: "3 days" is not a duration'),
        ("[policy]\ncooldown = 5\n", ":2: policy.cooldown:"),
        ('[server]\nlisten = "localhost"\n', ':2: server.listen: "localhost" is not HOST:PORT'),
        ('[store]\nurl = "mysql://x"\n', ":2: store.url:"),
        ('[srv]\nlisten = "x"\n', ":1: srv: unknown key"),
        ('[[tool]]\nname = "x"\nsource = "gitlab:x/y"\n', ":3: tool[0].source:"),
        ('[[tool]]\nname = "x"\nsource = "github:a/b"\nkind = "lib"\n', ":4: tool[0].kind:"),
        ('[[tool]]\nname = "x"\n', ":1: tool[0].source: Field required"),
    ],
)
def test_invalid_values_name_their_line_and_key(tmp_path: Path, snippet: str, expected: str):
    assert expected in error_of(tmp_path, snippet)


def test_duplicate_tool_names_are_refused(tmp_path: Path):
    text = MINIMAL + '\n[[tool]]\nname = "trivy"\nsource = "github:aquasecurity/trivy"\n'
    assert ':18: tool[3].name: "trivy" is configured twice' in error_of(tmp_path, text)


def test_toml_syntax_errors_name_the_file(tmp_path: Path):
    message = error_of(tmp_path, "[policy\n")
    assert message.startswith(f"{tmp_path / 'config.toml'}: not valid TOML")
    assert "line 1" in message


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.toml")


def test_state_dir_is_relative_to_the_config_file(tmp_path: Path):
    config = load_config(write(tmp_path, 'state_dir = "var"\n'))
    assert config.store_url == f"sqlite:///{tmp_path / 'var' / 'toolgate.db'}"


def test_state_dir_defaults_to_systemd_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "sd"))
    assert load_config(write(tmp_path, "")).state_dir == tmp_path / "sd"


def test_secrets_come_from_files_or_systemd_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = load_config(write(tmp_path, '[github]\ntoken_file = "gh-token"\n'))
    (tmp_path / "gh-token").write_text("s3cret\n")
    assert read_secret("gh-token", config) == "s3cret"
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "github-token").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert read_secret("credential:github-token", config) == "from-systemd"
    with pytest.raises(ConfigError, match="cannot read secret file"):
        read_secret("missing", config)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0),
        ("250ms", 0.25),
        ("1s500ms", 1.5),
        ("90s", 90),
        ("15m", 900),
        ("72h", 259200),
        ("7d", 604800),
        ("1w", 604800),
        ("1h30m", 5400),
    ],
)
def test_durations(text: str, seconds: float):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "7", "d", "-5m", "1.5h", "7 days", "5m3", "5ms3", "P7D", "9" * 40 + "s"]
)
def test_invalid_durations(text: str):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**11))
def test_duration_formatting_round_trips(milliseconds: int):
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


FEEDS = """\
[[tool]]
name = "trivy"
source = "github:aquasecurity/trivy"
advisories = ["Go:github.com/aquasecurity/trivy"]
keywords = ["trivy", "re:aqua(security)?"]

[advisories]
deny_severity = "medium"
unevaluated = "deny"

[[feed]]
name = "osv-go"
type = "osv-zip"
url = "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip"

[[feed]]
name = "local"
type = "osv"
path = "advisories"
max_age = "2h"

[[waiver]]
advisory = "GO-2026-4919"
tool = "trivy"
versions = [">=0.69.5"]
reason = "GO-2026-4919 has no fix event: read literally it marks every later trivy"
expires = 2026-12-31
"""


def test_feeds_waivers_and_advisory_packages_load(tmp_path: Path):
    config = load_config(write(tmp_path, FEEDS))
    assert config.tools[0].advisory_packages == (("Go", "github.com/aquasecurity/trivy"),)
    assert [(f.name, f.type) for f in config.feeds] == [("osv-go", "osv-zip"), ("local", "osv")]
    assert config.feeds[1].max_age == timedelta(hours=2)
    assert config.advisories.deny_severity == "medium"
    assert config.advisories.unevaluated == "deny"
    assert config.waivers[0].expires.tzinfo is not None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('advisories = ["Go:github.com', 'advisories = ["github.com'), ":4: tool[0].advisories:"),
        (('"re:aqua(security)?"', '"re:(unclosed"'), ":5: tool[0].keywords:"),
        (
            ('path = "advisories"', 'path = "a"\nurl = "https://x"'),
            ":16: feed[1]: give exactly one",
        ),
        (('type = "osv-zip"', 'type = "csv"'), ":13: feed[0].type:"),
        (('unevaluated = "deny"', 'unevaluated = "allow"'), ":9: advisories.unevaluated:"),
        (('name = "local"', 'name = "osv-go"'), ':17: feed[1].name: "osv-go" is configured twice'),
        (('tool = "trivy"\nversions', 'tool = "tivy"\nversions'), ':24: waiver[0].tool: "tivy"'),
        (("expires = 2026-12-31\n", ""), ":22: waiver[0].expires: Field required"),
    ],
)
def test_feed_and_waiver_errors_name_line_and_key(
    tmp_path: Path, change: tuple[str, str], expected: str
):
    assert change[0] in FEEDS
    assert expected in error_of(tmp_path, FEEDS.replace(*change))
