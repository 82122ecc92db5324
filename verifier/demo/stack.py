"""Everything a toolgate daemon runs against in the demo (and the end-to-end tests), on loopback
and in one directory: a fake GitHub, advisory feeds, a mail sink, the demo signing authority
(its trust root written next to the configuration, and trusted nowhere else), and the daemon."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

from verifier.config import Config, load_config
from verifier.demo.authority import SigningAuthority
from verifier.demo.daemon import Daemon
from verifier.demo.feeds import FeedServer
from verifier.demo.loopback import bypass_proxies_for_loopback, free_port
from verifier.demo.mailbox import Mailbox
from verifier.demo.upstream import FakeGitHub
from verifier.store.engine import create_store_engine
from verifier.store.migrate import upgrade
from verifier.tokens import Scope, create_token

TRUSTED_ROOT = "trusted_root.json"


def demo_template() -> str:
    """The configuration template the demo runs with (see `Stack.configure`)."""
    return resources.files("verifier.demo").joinpath("data", "config.toml").read_text()


class Stack:
    """Start with `start()`, then `configure(template)`, `tokens(...)` and `daemon.start()`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.github = FakeGitHub()
        self.feeds = FeedServer()
        self.mailbox = Mailbox(directory / "mail")
        self.authority = SigningAuthority()
        self.config_path = directory / "config.toml"
        self.listen = f"127.0.0.1:{free_port()}"
        self.daemon = Daemon(self.config_path, f"http://{self.listen}", directory / "toolgate.log")
        self.config: Config | None = None

    def start(self) -> Stack:
        bypass_proxies_for_loopback()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.authority.write_trusted_root(self.directory / TRUSTED_ROOT)
        self.github.start()
        self.feeds.start()
        self.mailbox.start()
        return self

    def stop(self) -> None:
        self.daemon.stop()
        self.mailbox.stop()
        self.feeds.stop()
        self.github.stop()

    def configure(self, template: str) -> Config:
        """Write the configuration: `$listen`, `$github`, `$feeds` and `$smtp_port` are filled
        in; the trust root is `trusted_root.json` next to it."""
        text = Template(template).substitute(
            listen=self.listen,
            github=self.github.url,
            feeds=self.feeds.url,
            smtp_port=str(self.mailbox.port),
        )
        self.config_path.write_text(text, encoding="utf-8")
        self.config = load_config(self.config_path)
        return self.config

    def tokens(self, scopes: dict[str, set[Scope]]) -> dict[str, str]:
        """Create the store (migrated) and one token per name; returns name -> token."""
        assert self.config is not None, "configure() first"
        engine = create_store_engine(self.config.store_url)
        try:
            upgrade(engine)
            return {
                name: create_token(engine, name, wanted, "demo") for name, wanted in scopes.items()
            }
        finally:
            engine.dispose()
