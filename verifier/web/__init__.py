"""The dashboard: server-rendered pages under `/ui` of the API server (no JavaScript needed)."""

from verifier.web.routes import install_dashboard

__all__ = ["install_dashboard"]
