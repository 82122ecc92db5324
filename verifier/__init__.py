"""toolgate's daemon: inventory, verification, policy, API, alerts and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("toolgate")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
