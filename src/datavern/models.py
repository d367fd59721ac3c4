"""Imports every feature's tables so that Alembic and create_all see them all."""

from __future__ import annotations


def import_all_models() -> None:
    import datavern.accounts.models
    import datavern.accounts.tokens
    import datavern.breaches.models
    import datavern.connectors.models
    import datavern.consent.models
    import datavern.core.audit
    import datavern.dsr.case_models
    import datavern.dsr.models
    import datavern.notify.models
    import datavern.register.models
    import datavern.retention.models  # noqa: F401
