"""Leases: which process works on a record now, so that two never do the same work.

A lease is an owner (``host:pid``) and an expiry kept on the record being worked on
(a data-subject request, a retention sweep). It is free when nobody holds it, when
this process holds it, when it has expired, or when its owner is a process on this
host that no longer exists (killed: its work can be continued at once).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime


def owner() -> str:
    """This process, as a lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_free(lease_owner: str | None, lease_until: datetime | None, now: datetime) -> bool:
    if lease_owner is None or lease_owner == owner():
        return True
    if lease_until is None or lease_until <= now:
        return True
    host, _, pid = lease_owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))
