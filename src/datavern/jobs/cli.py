"""`datavern worker`: a Celery worker that runs Datavern's jobs (``DATAVERN_JOBS=celery``).

The worker consumes ``DATAVERN_QUEUE`` (default ``datavern``) on
``DATAVERN_BROKER_URL`` (default Redis on this machine); see jobs/celery_app.py.
``--beat`` also runs Celery beat in the same process, which sends the periodic
tasks (the sweeper every minute, deferred erasures every hour, ...): run it on
exactly one worker, or run ``datavern scheduler`` instead.
"""

from __future__ import annotations

import typer

from datavern.core.errors import DatavernError


def worker(
    concurrency: int = typer.Option(
        2, "--concurrency", "-c", min=1, help="Worker processes (steps run at the same time)."
    ),
    queue: str = typer.Option(
        "", "--queue", "-Q", help="Queue to consume (default: DATAVERN_QUEUE or 'datavern')."
    ),
    beat: bool = typer.Option(
        False, "--beat", help="Also send the periodic tasks (run on one worker only)."
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery log level."),
) -> None:
    """Run request steps and other jobs sent by DATAVERN_JOBS=celery (Redis broker)."""
    import os

    from datavern.cli.common import ensure_database, err_console
    from datavern.core.config import get_settings
    from datavern.core.db import dispose_engines

    if queue:
        os.environ["DATAVERN_QUEUE"] = queue
    try:
        ensure_database()
    except DatavernError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    from datavern.jobs import celery_app, celery_runner

    celery_runner.install_test_delay()
    # The worker's processes are forked from this one: none may share its
    # database connections.
    dispose_engines()
    app = celery_app.get_app()
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "-Q",
        celery_app.queue_name(),
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        data_dir = get_settings().data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", f"--schedule={data_dir / 'celerybeat-schedule'}"]
    app.worker_main(argv)


if __name__ == "__main__":  # `python -m datavern.jobs.cli` (tests run the worker as a process)
    from datavern.cli.common import run_app

    standalone = typer.Typer()
    standalone.command()(worker)
    run_app(standalone)
