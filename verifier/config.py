"""Load and validate toolgate's TOML configuration into typed, immutable models.

Every error names the file, the line and the key (`config.toml:14: tool[2].versions: …`).
Secrets are never written in the configuration: only paths to files or systemd credentials.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
)

from verifier.durations import format_duration, parse_duration
from verifier.errors import ConfigError
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

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f'"{value}" is not HOST:PORT (e.g. "127.0.0.1:8750")')
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


class GitHubConfig(_Model):
    """`[github]`: the API used to watch releases (read-only token from a file)."""

    api_url: str = "https://api.github.com"
    token_file: str | None = None
    poll_interval: Duration = timedelta(minutes=15)

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f'"{value}" is not an http(s) URL')
        return value.rstrip("/")


class AuditConfig(_Model):
    """`[audit]`: how decision records reach the store."""

    flush_interval: Duration = timedelta(seconds=1)
    buffer_limit: int = Field(default=100_000, ge=1_000)
    durable: bool = False


class SignatureConfig(_Model):
    """`[tool.signature]`: who must have signed a release (filled by release verification)."""

    type: Literal["sigstore"] = "sigstore"
    bundle: str = "{asset}.sigstore.json"
    identity: str | list[str] | None = None
    identity_regexp: str | None = None
    issuer: str = "https://token.actions.githubusercontent.com"
    branches: list[str] = Field(default_factory=list)

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


class Config(_Model):
    """The whole validated configuration."""

    source_path: Path
    state_dir: Path
    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    policy: PolicyConfig = PolicyConfig()
    github: GitHubConfig = GitHubConfig()
    audit: AuditConfig = AuditConfig()
    tools: list[ToolConfig] = Field(default_factory=list, alias="tool")

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
    duplicates = _duplicate_tools(config)
    if duplicates:
        index, name = duplicates
        line = locations.line_of(("tool", index, "name"))
        raise ConfigError(f'{path}:{line}: tool[{index}].name: "{name}" is configured twice')
    return config


def _duplicate_tools(config: Config) -> tuple[int, str] | None:
    seen: set[str] = set()
    for index, tool in enumerate(config.tools):
        if tool.name in seen:
            return index, tool.name
        seen.add(tool.name)
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
        return secret_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {secret_path}: {exc.strerror}") from exc
