"""The Datavern side of the DSR benchmark: the hook the lead fills in.

run.py calls, in this order:

1. ``configure(database_url, dataset_path)`` once, before anything is timed: set up
   whatever Datavern needs (register/dataset loaded, a connection named for the
   bench database, inline jobs). ``database_url`` is a SQLAlchemy URL such as
   ``postgresql+psycopg://postgres@127.0.0.1:5432/datavern_bench``;
   ``dataset_path`` is ``bench/dsr/hosting_dataset.yml``.
2. ``datavern_access(identity_email)`` per access request: run a complete access
   request for ``email=<identity_email>`` in inline mode and return when its
   result is ready (the package built, like Fides' JSON upload).
3. ``datavern_erase(identity_email)`` per erasure request: run a complete
   erasure (every `user` field nulled, as the Fides policy does) and return when
   it is done. Identities given here are never used for anything else.
4. ``datavern_access_many(identity_emails)`` once, for the "1,000 queued access
   requests" target: queue them all (Celery jobs) and return when all are done.

Each call is timed by run.py (wall time around the call); the median of the warm
runs is reported. A function that raises NotImplementedError is reported as
"pending" instead of a number. Return values are ignored, except that a returned
``dict`` is stored with the run's results (e.g. row counts) for the record.
"""

from __future__ import annotations

from pathlib import Path

PENDING = "pending the DSR engine"

_settings: dict[str, object] = {}


def configure(database_url: str, dataset_path: Path) -> None:
    """Remember where the bench database and its dataset YAML are."""
    _settings["database_url"] = database_url
    _settings["dataset_path"] = dataset_path


def datavern_access(identity_email: str) -> object:
    raise NotImplementedError(PENDING)


def datavern_erase(identity_email: str) -> object:
    raise NotImplementedError(PENDING)


def datavern_access_many(identity_emails: list[str]) -> object:
    raise NotImplementedError(PENDING)
