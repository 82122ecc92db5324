"""toolgate's daemon: inventory, verification, policy, API, alerts and reports."""

from functools import cache
from typing import Any


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("toolgate")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """`__version__`, read from the installed metadata on first use, not on every start."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
