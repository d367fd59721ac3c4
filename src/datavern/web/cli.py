"""`datavern serve` and `datavern demo` (being written)."""

from __future__ import annotations


def serve() -> None:
    """Serve the privacy centre and admin console."""


def demo() -> None:
    """Create the demo company and serve it."""
