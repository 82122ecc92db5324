"""Load and validate toolgate's TOML configuration into typed, immutable models.

Every error names the file, the line and the key (`config.toml:14: tool[2].versions: …`).
Secrets are never written in the configuration: only paths to files or systemd credentials.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from verifier.durations import format_duration, parse_duration
from verifier.errors import ConfigError
from verifier.logs import register_secret
from verifier.toml_locations import TomlLocations, format_path

DEFAULT_LISTEN = "127.0.0.1:8750"
SECRET_KEYS = frozenset({"token", "password", "secret", "api_key", "private_key"})
_SPECIFIER_CHARS = re.compile(r"[<>=!~,*]")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")
_SOURCE = re.compile(
    r"^(github:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|pypi:[A-Za-z0-9_.-]+|url:https?://\S+)$"
)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not a duration: write it as a string such as "15m" or "7d"')
    return parse_duration(value)


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Model):
    """`[server]`: where the decision API listens and how fresh its snapshot must be."""

    listen: str = DEFAULT_LISTEN
    snapshot_interval: Duration = timedelta(seconds=1)
    max_snapshot_age: Duration = timedelta(minutes=5)
    fast_path: bool = True
    lease: Duration = timedelta(minutes=2)
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'"{value}" is not HOST:PORT (e.g. "127.0.0.1:8750")')
        return value

    @field_validator("lease")
    @classmethod
    def _check_lease(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("a lease shorter than 1s would be renewed more than it is used")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class StoreConfig(_Model):
    """`[store]`: the database URL (SQLite file under the state directory by default)."""

    url: str | None = None
    notify: bool = True  # PostgreSQL: LISTEN for revision bumps (false: poll only)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(f'"{value}" must start with "sqlite:///" or "postgresql+psycopg://"')
        return value


class PolicyConfig(_Model):
    """`[policy]`: global rules; tools may override `mode` and `cooldown`."""

    unknown: Literal["deny", "warn"] = "deny"
    mode: Literal["enforce", "warn"] = "enforce"
    cooldown: Duration = timedelta(0)


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f'"{value}" is not an http(s) URL')
    return value.rstrip("/")


class GitHubConfig(_Model):
    """`[github]`: the API used to watch releases (read-only token from a file)."""

    api_url: str = "https://api.github.com"
    token_file: str | None = None
    poll_interval: Duration = timedelta(minutes=15)
    upload_grace: Duration = timedelta(hours=1)  # a release may lack configured files this long

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return _http_url(value)


class PyPIConfig(_Model):
    """`[pypi]`: the package index `pypi:` tools are watched on (JSON API, PEP 740)."""

    index_url: str = "https://pypi.org"

    @field_validator("index_url")
    @classmethod
    def _check_index_url(cls, value: str) -> str:
        return _http_url(value)


class AuditConfig(_Model):
    """`[audit]`: how decision records reach the store."""

    flush_interval: Duration = timedelta(milliseconds=250)
    buffer_limit: int = Field(default=100_000, ge=1_000)
    durable: bool = False


SeverityName = Literal["low", "medium", "high", "critical"]
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def bare_address(address: str) -> str:
    """`user@example.org` out of `Name <user@example.org>`."""
    return address.rsplit("<", 1)[-1].rstrip(">").strip() if "<" in address else address.strip()


def _address(value: str) -> str:
    """`user@example.org` or `Name <user@example.org>`; the bare address is checked."""
    if "\n" in value or "\r" in value or not _ADDRESS.match(bare_address(value)):
        raise ValueError(f'"{value}" is not an email address')
    return value


class SmtpConfig(_Model):
    """`[alerts.smtp]`: the mail relay alerts are sent through."""

    host: str
    port: int | None = Field(default=None, gt=0, lt=65536)
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password_file: str | None = None
    sender: Annotated[str, BeforeValidator(_address)] = Field(alias="from")
    ca_file: str | None = None
    timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _check(self) -> SmtpConfig:
        if self.tls == "none" and self.host not in _LOOPBACK_HOSTS:
            raise ValueError(f'tls = "none" is only allowed for a loopback relay, not {self.host}')
        if self.username and not self.password_file:
            raise ValueError("username needs password_file (a file or credential:NAME)")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "implicit": 465, "none": 25}[self.tls]


class AlertRouteConfig(_Model):
    """One `[[alerts.route]]`: who is mailed about which tools, from which severity, how often."""

    to: list[Annotated[str, BeforeValidator(_address)]] = Field(min_length=1)
    tools: list[str] = Field(default_factory=lambda: ["*"])
    min_severity: SeverityName = "low"
    digest: Duration = timedelta(hours=1)
    deny_digest: Duration = timedelta(0)


class WebhookConfig(_Model):
    """One `[[alerts.webhook]]`: a signed JSON POST per alert."""

    url: str
    secret_file: str
    name: str | None = None
    tools: list[str] = Field(default_factory=lambda: ["*"])
    min_severity: SeverityName = "low"
    timeout: Duration = timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f'"{value}" is not an http(s) URL')
        return value

    @property
    def label(self) -> str:
        """How the endpoint is named in the store and logs (its URL may embed a secret)."""
        return self.name or urlsplit(self.url).hostname or "webhook"


class AlertsConfig(_Model):
    """`[alerts]`: the outbox sender, the mail relay, routes and webhooks."""

    smtp: SmtpConfig | None = None
    routes: list[AlertRouteConfig] = Field(default_factory=list, alias="route")
    webhooks: list[WebhookConfig] = Field(default_factory=list, alias="webhook")
    poll_interval: Duration = timedelta(seconds=5)
    retry_base: Duration = timedelta(seconds=30)
    retry_max: Duration = timedelta(hours=1)
    max_attempts: int = Field(default=12, ge=1)
    lease: Duration = timedelta(minutes=2)
    exposure_check: Duration = timedelta(minutes=1)

    @model_validator(mode="after")
    def _check(self) -> AlertsConfig:
        if self.routes and self.smtp is None:
            raise ValueError("[[alerts.route]] needs [alerts.smtp] to send mail through")
        labels = [webhook.label for webhook in self.webhooks]
        if len(labels) != len(set(labels)):
            raise ValueError("two webhooks share a name: set a distinct `name` on each")
        return self


class SignatureConfig(_Model):
    """`[tool.signature]`: who must have signed a release (filled by release verification)."""

    type: Literal["sigstore"] = "sigstore"
    bundle: str = "{asset}.sigstore.json"
    identity: str | list[str] | None = None
    identity_regexp: str | None = None
    issuer: str = "https://token.actions.githubusercontent.com"
    branches: list[str] = Field(default_factory=list)
    trusted_root: str | None = None  # trusted_root.json (private Sigstore); default: public-good

    @field_validator("identity_regexp")
    @classmethod
    def _check_anchored(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not (value.startswith("^") and value.endswith("$")):
            raise ValueError(
                f'"{value}" must be anchored with ^…$: an unanchored pattern also matches '
                "identities that merely contain it"
            )
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f'"{value}" is not a valid regular expression: {exc}') from exc
        return value


class ToolConfig(_Model):
    """One `[[tool]]` table: a tool pipelines fetch, and the versions that are approved."""

    name: str
    source: str
    kind: Literal["binary", "action"] = "binary"
    versions: list[str] = Field(default_factory=list)
    mode: Literal["enforce", "warn"] | None = None
    cooldown: Duration | None = None
    assets: list[str] = Field(default_factory=list)
    checksums: str | None = None
    signature: SignatureConfig | None = None
    attestations: Literal["required", "optional", "off"] = "optional"
    advisories: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("advisories")
    @classmethod
    def _check_advisory_packages(cls, value: list[str]) -> list[str]:
        for item in value:
            ecosystem, sep, package = item.partition(":")
            if not sep or not ecosystem.strip() or not package.strip():
                raise ValueError(
                    f'"{item}" is not ECOSYSTEM:PACKAGE (e.g. "Go:github.com/aquasecurity/trivy")'
                )
        return value

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.strip():
                raise ValueError("an empty keyword would match every feed entry")
            try:
                re.compile(pattern.removeprefix("re:"))
            except re.error as exc:
                raise ValueError(f'"{pattern}" is not a valid regular expression: {exc}') from None
        return value

    @property
    def advisory_packages(self) -> tuple[tuple[str, str], ...]:
        """(ecosystem, package) pairs under which advisories name this tool."""
        return tuple(tuple(item.split(":", 1)) for item in self.advisories)  # type: ignore[misc]

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _TOOL_NAME.match(value):
            raise ValueError(f'"{value}" is not a tool name (letters, digits, ".", "_", "-", "/")')
        return value

    @field_validator("source")
    @classmethod
    def _check_source(cls, value: str) -> str:
        if not _SOURCE.match(value):
            raise ValueError(
                f'"{value}" is not a source: use "github:OWNER/REPO", "pypi:NAME" or "url:https://…"'
            )
        return value

    @field_validator("versions", mode="before")
    @classmethod
    def _check_versions(cls, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError('must be a list of versions and/or specifiers such as ">=0.60,<0.70"')
        for item in items:
            if _SPECIFIER_CHARS.search(item):
                try:
                    SpecifierSet(item)
                except InvalidSpecifier:
                    raise ValueError(f'"{item}" is not a valid version specifier') from None
            elif not item.strip() or any(ch.isspace() for ch in item):
                raise ValueError(f'"{item}" is not a version')
        return items


class AdvisoryPolicyConfig(_Model):
    """`[advisories]`: how matched advisories weigh in decisions."""

    deny_severity: Literal["critical", "high", "medium", "low"] = "high"
    # A record that covers a tool but cannot be evaluated (no ordering, unparseable version).
    unevaluated: Literal["deny", "warn"] = "warn"


class FeedConfig(_Model):
    """One `[[feed]]`: an advisory source synced on a schedule."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    type: Literal["osv", "osv-zip", "osv-api", "ghsa", "rss", "kev"]
    url: str | None = None
    path: str | None = None
    interval: Duration = timedelta(hours=1)
    max_age: Duration = timedelta(hours=24)
    ecosystem: str | None = None
    token_file: str | None = None

    @model_validator(mode="after")
    def _one_location(self) -> FeedConfig:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url or path")
        if self.url is not None and not re.match(r"^https?://\S+$", self.url):
            raise ValueError(f'"{self.url}" is not an http(s) URL')
        return self


class WaiverConfig(_Model):
    """One `[[waiver]]`: an advisory an operator decided does not apply, until it expires."""

    advisory: str = Field(min_length=3, max_length=100)
    tool: str
    versions: list[str] = Field(default_factory=list)
    reason: str = Field(min_length=1)
    expires: datetime

    @field_validator("expires", mode="before")
    @classmethod
    def _as_datetime(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) +([01][0-9]|2[0-3]):([0-5][0-9])$")


class ReportsConfig(_Model):
    """`[reports]`: the weekly inventory report, mailed through `[alerts.smtp]`."""

    weekly: str | None = None  # "mon 07:00" (UTC); unset: no scheduled report
    to: list[Annotated[str, BeforeValidator(_address)]] = Field(default_factory=list)
    format: Literal["html", "md"] = "html"

    @field_validator("weekly")
    @classmethod
    def _check_weekly(cls, value: str | None) -> str | None:
        if value is not None and not _WEEKLY.match(value.strip().lower()):
            raise ValueError(
                f'"{value}" is not a weekly time: write a day and UTC time, "mon 07:00"'
            )
        return value.strip().lower() if value is not None else None

    @property
    def schedule(self) -> tuple[int, int, int] | None:
        """(weekday with Monday 0, hour, minute) in UTC, or None when not scheduled."""
        if self.weekly is None or (match := _WEEKLY.match(self.weekly)) is None:
            return None
        return _WEEKDAYS.index(match[1]), int(match[2]), int(match[3])


class Config(_Model):
    """The whole validated configuration."""

    source_path: Path
    state_dir: Path
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    policy: PolicyConfig = PolicyConfig()
    github: GitHubConfig = GitHubConfig()
    pypi: PyPIConfig = PyPIConfig()
    audit: AuditConfig = AuditConfig()
    alerts: AlertsConfig = AlertsConfig()
    advisories: AdvisoryPolicyConfig = AdvisoryPolicyConfig()
    tools: list[ToolConfig] = Field(default_factory=list, alias="tool")
    feeds: list[FeedConfig] = Field(default_factory=list, alias="feed")
    waivers: list[WaiverConfig] = Field(default_factory=list, alias="waiver")
    reports: ReportsConfig = ReportsConfig()

    @model_validator(mode="after")
    def _check_reports(self) -> Config:
        if self.reports.weekly and self.alerts.smtp is None:
            raise ValueError("[reports] weekly needs [alerts.smtp] to send the report through")
        if self.reports.weekly and not (self.reports.to or self.alerts.routes):
            raise ValueError("[reports] weekly needs recipients: set `to` or an [[alerts.route]]")
        return self

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.state_dir / 'toolgate.db'}"

    def tool(self, name: str) -> ToolConfig | None:
        return next((tool for tool in self.tools if tool.name == name), None)


def default_config_path() -> Path:
    """`$TOOLGATE_CONFIG`, else `config.toml` in the working directory."""
    return Path(os.environ.get("TOOLGATE_CONFIG", "config.toml"))


def _default_state_dir() -> Path:
    if state := os.environ.get("STATE_DIRECTORY"):  # set by systemd's StateDirectory=
        return Path(state.split(":")[0])
    return Path.home() / ".local" / "state" / "toolgate"


def load_config(path: Path) -> Config:
    """Read and validate `path`; raise ConfigError naming file, line and key on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    locations = TomlLocations(text)
    base = path.resolve().parent
    state_dir = raw.pop("state_dir", None)
    resolved_state = _default_state_dir() if state_dir is None else base / str(state_dir)
    try:
        config = Config.model_validate({**raw, "source_path": path, "state_dir": resolved_state})
    except ValidationError as exc:
        raise ConfigError(_describe(path, locations, exc)) from None
    for key, names in (
        ("tool", [t.name for t in config.tools]),
        ("feed", [f.name for f in config.feeds]),
    ):
        if (duplicate := _first_duplicate(names)) is not None:
            line = locations.line_of((key, duplicate, "name"))
            raise ConfigError(
                f'{path}:{line}: {key}[{duplicate}].name: "{names[duplicate]}" is configured twice'
            )
    tool_names = {tool.name for tool in config.tools}
    for index, waiver in enumerate(config.waivers):
        if waiver.tool not in tool_names:
            line = locations.line_of(("waiver", index, "tool"))
            raise ConfigError(
                f'{path}:{line}: waiver[{index}].tool: "{waiver.tool}" is not a [[tool]]'
            )
    return config


def _first_duplicate(names: list[str]) -> int | None:
    """The index of the first name that appeared before, if any."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            return index
        seen.add(name)
    return None


def _describe(path: Path, locations: TomlLocations, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        line = locations.line_of(loc)
        key = format_path(loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and loc and str(loc[-1]) in SECRET_KEYS:
            message = (
                "secrets must not be written in the configuration: put the secret in a file "
                f"(or a systemd credential) and set {loc[-1]}_file instead"
            )
        elif error["type"] == "extra_forbidden":
            message = "unknown key (see README: Configuration)"
        where = f"{path}:{line}" if line else str(path)
        lines.append(f"{where}: {key}: {message}")
    return "\n".join(lines)


def read_secret(reference: str, config: Config) -> str:
    """Read a secret named by a `*_file` key: a path (relative to the config) or `credential:NAME`.

    `credential:NAME` reads `$CREDENTIALS_DIRECTORY/NAME`, where systemd's LoadCredential= puts it.
    """
    if reference.startswith("credential:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ConfigError(
                f'"{reference}" needs $CREDENTIALS_DIRECTORY (set by systemd LoadCredential=)'
            )
        secret_path = Path(directory) / reference.removeprefix("credential:")
    else:
        secret_path = config.source_path.resolve().parent / reference
    try:
        secret = secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {secret_path}: {exc.strerror}") from exc
    register_secret(secret)  # from now on, log lines show it as [redacted]
    return secret


def secret_references(config: Config) -> list[tuple[str, str]]:
    """Every secret the configuration names, as (key, `*_file` reference) pairs."""
    references = []
    if config.github.token_file:
        references.append(("github.token_file", config.github.token_file))
    smtp = config.alerts.smtp
    if smtp is not None and smtp.password_file:
        references.append(("alerts.smtp.password_file", smtp.password_file))
    for webhook in config.alerts.webhooks:
        references.append((f"alerts.webhook[{webhook.label}].secret_file", webhook.secret_file))
    for feed in config.feeds:
        if feed.token_file:
            references.append((f"feed[{feed.name}].token_file", feed.token_file))
    return references
