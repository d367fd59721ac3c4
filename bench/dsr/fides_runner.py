"""Run the benchmark's data-subject requests through Fides, as the reference to beat.

This is our own client of Fides' public REST API; no Fides code is copied here.
Fides (PyPI ``ethyca-fides``) is installed into its own venv under
``bench/.work/fides-venv`` and runs from ``bench/.work/fides/``:

* ``fides.toml`` there: its application database ``fides_app`` in the local
  PostgreSQL, Redis on 127.0.0.1:6379 (db index 5, no password), generated
  encryption key and root OAuth client, no analytics, Celery in eager mode (no
  worker: a privacy request runs inside the webserver process, the equivalent of
  Datavern's inline mode), no manual approval, no identity verification, no
  retries;
* ``data/saas/config`` (empty): the webserver lists it at start-up;
* the webserver is started with uvicorn bound to 127.0.0.1 on a free port
  (``fides webserver`` would bind 0.0.0.0);
* ``fides.log``: the webserver's output, whose tail is shown when a step fails.

Set-up through the API: a ``postgres`` ConnectionConfig for the bench database and
its secrets, the dataset YAML for that connection, a local StorageConfig (access
results are written as JSON under ``fides_uploads/``), an access policy (one rule,
target ``user``) and an erasure policy (one rule, target ``user``, masking
``null_rewrite``). Then one privacy request per identity, submitted and polled
until it reaches a final status; the time from submission to seeing it complete
is what is measured.

Usage (stand-alone; run.py uses the same class):
    python bench/dsr/fides_runner.py --operation access --identities ids.txt
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql

BENCH_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = BENCH_DIR / ".work"
DATASET_YAML = Path(__file__).resolve().parent / "hosting_dataset.yml"

# The newest release at the time of writing that installs on Python 3.11 here.
FIDES_VERSION = "2.78.2"

CONNECTION_KEY = "bench_hosting_postgres"
STORAGE_KEY = "bench_local_storage"
ACCESS_POLICY = "bench_access"
ERASURE_POLICY = "bench_erasure"
FINAL_STATUSES = {"complete", "error", "canceled", "denied", "duplicate"}
# Statuses where Fides waits for a person; with our config they should never occur.
STUCK_STATUSES = {"requires_input", "paused", "identity_unverified", "requires_manual_finalization"}


class FidesError(RuntimeError):
    """A step of the Fides reference run failed; the message says which and why."""


@dataclass
class RequestResult:
    identity: str
    operation: str
    status: str
    seconds: float  # wall time, submission -> seen complete
    request_id: str = ""
    server_seconds: float | None = None  # Fides' own started -> finished, if reported
    detail: str = ""


@dataclass
class FidesReference:
    """Install, configure, start and drive one Fides webserver."""

    db_host: str = "127.0.0.1"
    db_port: int = 5432
    db_user: str = "postgres"
    db_password: str = ""
    bench_db: str = "datavern_bench"
    app_db: str = "fides_app"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db_index: int = 5
    work_dir: Path = WORK_DIR
    version: str = FIDES_VERSION
    poll_interval: float = 0.05
    request_timeout: float = 600.0
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _client: httpx.Client | None = field(default=None, repr=False)
    _log_handle: Any = field(default=None, repr=False)
    _creds: dict[str, str] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ paths

    @property
    def venv(self) -> Path:
        return self.work_dir / "fides-venv"

    @property
    def home(self) -> Path:
        return self.work_dir / "fides"

    @property
    def log_path(self) -> Path:
        return self.home / "fides.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- install

    def install(self) -> None:
        """Create the venv and install ethyca-fides into it, unless already there."""
        _require_loopback(self.db_host)
        _require_loopback(self.redis_host)
        python = self.venv / "bin" / "python"
        if python.exists():
            probe = subprocess.run(
                [str(python), "-c", "import fides; print(fides.__version__)"],
                capture_output=True,
                text=True,
            )
            if probe.returncode == 0 and probe.stdout.strip() == self.version:
                return
        else:
            _log(f"creating {self.venv}")
            _run([sys.executable, "-m", "venv", str(self.venv)], "create the Fides venv")
        _log(f"installing ethyca-fides=={self.version} (a few minutes the first time)")
        _run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], "upgrade pip")
        _run(
            [str(python), "-m", "pip", "install", "-q", f"ethyca-fides=={self.version}"],
            f"install ethyca-fides=={self.version}",
        )

    # -------------------------------------------------------------- configure

    def configure(self) -> None:
        """Write fides.toml, the data/saas folders and make sure the app database exists."""
        (self.home / "data" / "saas" / "config").mkdir(parents=True, exist_ok=True)
        (self.home / "data" / "saas" / "dataset").mkdir(parents=True, exist_ok=True)
        (self.home / "data" / "saas" / "icon").mkdir(parents=True, exist_ok=True)
        secrets_file = self.home / "secrets.json"
        if secrets_file.exists():
            creds = json.loads(secrets_file.read_text())
        else:
            creds = {
                # exactly 32 characters, as Fides' AES-GCM key must be
                "app_encryption_key": secrets.token_hex(16),
                "client_id": "bench-root-client",
                "client_secret": secrets.token_urlsafe(24),
            }
            secrets_file.write_text(json.dumps(creds))
            secrets_file.chmod(0o600)
        self._creds = creds
        toml = f"""# written by bench/dsr/fides_runner.py; regenerated on every run
[database]
server = "{self.db_host}"
port = "{self.db_port}"
user = "{self.db_user}"
password = "{self.db_password}"
db = "{self.app_db}"
load_samples = false

[redis]
host = "{self.redis_host}"
port = {self.redis_port}
password = ""
db_index = {self.redis_db_index}
ssl = false

[security]
app_encryption_key = "{creds["app_encryption_key"]}"
oauth_root_client_id = "{creds["client_id"]}"
oauth_root_client_secret = "{creds["client_secret"]}"
cors_origins = []
request_rate_limit = "100000/minute"
auth_rate_limit = "1000/minute"
env = "prod"

[execution]
require_manual_request_approval = false
subject_identity_verification_required = false
task_retry_count = 0
task_retry_delay = 1
task_retry_backoff = 1
erasure_request_finalization_required = false

[privacy_request_duplicate_detection]
enabled = false

[celery]
task_always_eager = true

[user]
analytics_opt_out = true

[logging]
level = "INFO"
log_pii = false

[cli]
server_host = "127.0.0.1"
server_port = "{self.port or 8080}"
analytics_id = "bench"

[admin_ui]
enabled = false
"""
        (self.home / "fides.toml").write_text(toml)
        admin = psycopg.conninfo.make_conninfo(
            host=self.db_host, port=self.db_port, user=self.db_user, dbname="postgres"
        )
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.app_db,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.app_db)))

    # ------------------------------------------------------------ start / stop

    def start(self, timeout: float = 600.0) -> None:
        """Start the webserver on a free loopback port and wait until /health answers."""
        if not self.port:
            self.port = _free_port()
        self.configure()  # again, now that the port is known
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FIDES__", "DATAVERN_", "VIRTUAL_ENV"))
        }
        env["FIDES__CONFIG_PATH"] = str(self.home / "fides.toml")
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        code = (
            "import uvicorn\n"
            "from fides.api.main import app\n"
            f"uvicorn.run(app, host='127.0.0.1', port={self.port}, log_level='warning')\n"
        )
        self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self._log_handle.write(f"\n===== bench start {time.ctime()} =====\n".encode())
        self._log_handle.flush()
        _log(f"starting Fides {self.version} on {self.base_url} (log: {self.log_path})")
        self._process = subprocess.Popen(
            [str(self.venv / "bin" / "python"), "-c", code],
            cwd=self.home,
            env=env,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        self._client = httpx.Client(base_url=self.base_url, timeout=120.0)
        started = time.monotonic()
        while True:
            if self._process.poll() is not None:
                raise FidesError(
                    f"the Fides webserver exited with code {self._process.returncode} "
                    f"during start-up\n{self.log_tail()}"
                )
            try:
                if self._client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > timeout:
                raise FidesError(
                    f"Fides did not become healthy in {timeout:.0f}s\n{self.log_tail()}"
                )
            time.sleep(0.5)
        _log(f"Fides is up after {time.monotonic() - started:.1f}s")
        self._authenticate()

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> FidesReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no Fides log)"
        return "---- last lines of " + str(self.log_path) + " ----\n" + "\n".join(text[-lines:])

    # -------------------------------------------------------------------- API

    def _authenticate(self) -> None:
        response = self._http().post(
            "/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._creds["client_id"],
                "client_secret": self._creds["client_secret"],
            },
        )
        body = self._check(response, "get an OAuth token for the root client")
        self._http().headers["Authorization"] = f"Bearer {body['access_token']}"

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise FidesError("Fides is not started")
        return self._client

    def _check(self, response: httpx.Response, step: str) -> Any:
        if response.status_code >= 400:
            raise FidesError(
                f"Fides refused to {step}: HTTP {response.status_code} {response.text[:2000]}\n"
                f"{self.log_tail(20)}"
            )
        body = response.json() if response.content else None
        if isinstance(body, dict) and body.get("failed"):
            raise FidesError(f"Fides could not {step}: {json.dumps(body['failed'])[:2000]}")
        return body

    def setup(self, dataset_yaml: Path = DATASET_YAML) -> None:
        """Connection, secrets, dataset, storage and the two policies (idempotent)."""
        http = self._http()
        self._check(
            http.patch(
                "/api/v1/connection",
                json=[
                    {
                        "name": "Benchmark hosting database",
                        "key": CONNECTION_KEY,
                        "connection_type": "postgres",
                        "access": "write",
                    }
                ],
            ),
            "create the postgres connection",
        )
        connection_secrets: dict[str, Any] = {
            "host": self.db_host,
            "port": self.db_port,
            "username": self.db_user,
            "dbname": self.bench_db,
            "db_schema": "public",
        }
        if self.db_password:
            connection_secrets["password"] = self.db_password
        result = self._check(
            http.put(
                f"/api/v1/connection/{CONNECTION_KEY}/secret",
                params={"verify": "true"},
                json=connection_secrets,
            ),
            "store the connection secrets",
        )
        if isinstance(result, dict) and result.get("test_status") == "failed":
            raise FidesError(
                f"Fides cannot reach the bench database: {result.get('failure_reason')}"
            )
        self._check(
            http.patch(
                f"/api/v1/yml/connection/{CONNECTION_KEY}/dataset",
                content=dataset_yaml.read_bytes(),
                headers={"Content-Type": "application/x-yaml"},
            ),
            f"load the dataset {dataset_yaml.name}",
        )
        self._check(
            http.patch(
                "/api/v1/storage/config",
                json=[
                    {
                        "name": "Benchmark local storage",
                        "key": STORAGE_KEY,
                        "type": "local",
                        "format": "json",
                        "details": {"naming": "request_id"},
                    }
                ],
            ),
            "create the local storage destination",
        )
        self._check(
            http.patch(
                "/api/v1/dsr/policy",
                json=[
                    {"name": "Benchmark access", "key": ACCESS_POLICY},
                    {"name": "Benchmark erasure", "key": ERASURE_POLICY},
                ],
            ),
            "create the policies",
        )
        rules = {
            ACCESS_POLICY: {
                "name": "Access all user data",
                "key": "bench_access_rule",
                "action_type": "access",
                "storage_destination_key": STORAGE_KEY,
            },
            ERASURE_POLICY: {
                "name": "Erase all user data",
                "key": "bench_erasure_rule",
                "action_type": "erasure",
                "masking_strategy": {"strategy": "null_rewrite", "configuration": {}},
            },
        }
        for policy, rule in rules.items():
            self._check(
                http.patch(f"/api/v1/dsr/policy/{policy}/rule", json=[rule]),
                f"create the rule of {policy}",
            )
            self._check(
                http.patch(
                    f"/api/v1/dsr/policy/{policy}/rule/{rule['key']}/target",
                    json=[
                        {
                            "name": f"{policy} user",
                            "key": f"{rule['key']}_user",
                            "data_category": "user",
                        }
                    ],
                ),
                f"target the rule of {policy} at `user`",
            )

    def run_request(self, email: str, operation: str) -> RequestResult:
        """Submit one privacy request and wait for its final status."""
        policy = ACCESS_POLICY if operation == "access" else ERASURE_POLICY
        http = self._http()
        started = time.perf_counter()
        response = http.post(
            "/api/v1/privacy-request",
            json=[{"identity": {"email": email}, "policy_key": policy}],
        )
        body = self._check(response, f"accept a {operation} request")
        succeeded = body.get("succeeded") or []
        if not succeeded:
            raise FidesError(f"Fides accepted no {operation} request: {json.dumps(body)[:1000]}")
        request_id = succeeded[0]["id"]
        # In eager mode the POST itself runs the request and answers with the status it had
        # when created ("pending"), so the current status is always read back first.
        record = self._status(request_id)
        status = record.get("status", "")
        deadline = started + self.request_timeout
        approved = False
        while status not in FINAL_STATUSES:
            if status == "pending" and not approved:
                # only with manual approval switched on; approve it so the run goes on
                self._check(
                    http.patch(
                        "/api/v1/privacy-request/administrate/approve",
                        json={"request_ids": [request_id]},
                    ),
                    "approve the request",
                )
                approved = True
            if time.perf_counter() > deadline:
                return RequestResult(
                    email,
                    operation,
                    f"timeout ({status})",
                    time.perf_counter() - started,
                    request_id,
                )
            time.sleep(self.poll_interval)
            record = self._status(request_id)
            status = record.get("status", "")
            if status in STUCK_STATUSES:
                break
        elapsed = time.perf_counter() - started
        server = _server_seconds(record)
        detail = ""
        if status != "complete":
            detail = self._failure_detail(request_id)
        return RequestResult(email, operation, status, elapsed, request_id, server, detail)

    def _status(self, request_id: str) -> dict[str, Any]:
        body = self._check(
            self._http().get("/api/v1/privacy-request", params={"request_id": request_id}),
            "report the request status",
        )
        items = body.get("items") or []
        if not items:
            raise FidesError(f"Fides does not know request {request_id}")
        return dict(items[0])

    def _failure_detail(self, request_id: str) -> str:
        response = self._http().get(
            "/api/v1/privacy-request", params={"request_id": request_id, "verbose": "true"}
        )
        if response.status_code >= 400:
            return response.text[:1000]
        items = response.json().get("items") or [{}]
        logs = items[0].get("results") or {}
        errors = []
        for entries in logs.values():
            for entry in entries:
                if entry.get("status") == "error":
                    errors.append(f"{entry.get('collection_name')}: {entry.get('message')}")
        return "; ".join(errors)[:2000] or json.dumps(items[0])[:1000]


# ------------------------------------------------------------------------ helpers


def _server_seconds(record: dict[str, Any]) -> float | None:
    from datetime import datetime

    start = record.get("started_processing_at") or record.get("created_at")
    end = record.get("finished_processing_at")
    if not start or not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def _require_loopback(host: str) -> None:
    if host == "localhost" or host.startswith("/"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise FidesError(f"refusing non-loopback host {host!r}: the benchmark is local only")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise FidesError(f"could not {what} (exit {done.returncode}):\n{tail}")


def _log(message: str) -> None:
    print(f"[fides] {message}", flush=True)


def summarize(results: list[RequestResult]) -> str:
    ok = [r.seconds for r in results if r.status == "complete"]
    failed = [r for r in results if r.status != "complete"]
    line = f"{len(ok)}/{len(results)} complete"
    if ok:
        line += f", median {statistics.median(ok):.3f}s, min {min(ok):.3f}s, max {max(ok):.3f}s"
    for r in failed[:3]:
        line += f"\n  {r.status}: {r.request_id} {r.detail}"
    return line


def run_requests(
    reference: FidesReference, operation: str, identities: list[str], warmup: int = 1
) -> list[RequestResult]:
    """Run one request per identity; the first `warmup` ones are run but not returned."""
    results = []
    for index, email in enumerate(identities):
        result = reference.run_request(email, operation)
        label = "warm-up" if index < warmup else f"run {index - warmup + 1}"
        _log(f"{operation} {label}: {result.status} in {result.seconds:.3f}s")
        if index >= warmup:
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run DSRs through Fides against the bench DB.")
    parser.add_argument("--operation", choices=["access", "erasure"], default="access")
    parser.add_argument("--identities", required=True, help="file with one e-mail per line")
    parser.add_argument("--dbname", default="datavern_bench")
    parser.add_argument("--db-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    parts = urlsplit(args.db_url)
    emails = [e.strip() for e in Path(args.identities).read_text().splitlines() if e.strip()]
    reference = FidesReference(
        db_host=parts.hostname or "127.0.0.1",
        db_port=parts.port or 5432,
        db_user=parts.username or "postgres",
        db_password=parts.password or "",
        bench_db=args.dbname,
    )
    try:
        reference.install()
        reference.configure()
        with reference:
            reference.start()
            reference.setup()
            results = run_requests(reference, args.operation, emails, args.warmup)
    except FidesError as exc:
        print(f"Fides reference run failed: {exc}", file=sys.stderr)
        return 1
    print(f"Fides {args.operation}: {summarize(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
