"""Every alert mail's claim, checked at the mail sink as it arrives: the action it states
(`X-Toolgate-Action`) must be what the daemon answers for the version it names right then.

The demo and the end-to-end tests attach one to their mailbox; asking goes through the read
API (`/v1/tools`), so checking never looks like a runner fetching.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from verifier.demo.client import DaemonClient
from verifier.demo.mailbox import Mail


@dataclass
class ClaimAudit:
    """Checks mails as they arrive; `violations` lists the false claims, `checked` counts."""

    client: DaemonClient
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, mail: Mail) -> None:
        message = mail.message
        action, tool = message["X-Toolgate-Action"], message["X-Toolgate-Tool"]
        version = message["X-Toolgate-Version"]
        if action is None or tool is None or version is None or action == "notice":
            return  # a digest, a notice, or a claim about a tool without a version
        if message["X-Toolgate-Sha256"] is not None:
            return  # a claim about some bytes: the read API answers for versions only
        verdict = self.client.verdict(str(tool), str(version))
        if verdict is None:  # a version toolgate never saw: never allowed, deny or warn by mode
            answered, holds = "not allowed (unknown version)", action in ("deny", "warn")
        else:
            answered = verdict["decision"]
            holds = answered == "allow" if action == "resolved" else answered == action
        with self._lock:
            self.checked += 1
            if not holds:
                self.violations.append(
                    f"{mail.subject!r} claims {action}, the daemon answers {answered} for "
                    f"{tool} {version}"
                )
