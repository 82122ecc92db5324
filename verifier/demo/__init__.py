"""`toolgate demo`: the March 2026 Trivy incident replayed offline against a real daemon."""
