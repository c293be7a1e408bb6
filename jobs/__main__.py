"""`python -m jobs`: the scheduler as its own process (DATABASE_URL picks the database).

Start as many as you like (one per machine, say): one leads and runs every job, the
others stand by and take over within `--poll` seconds when it stops. Every one of them
relays events and delivers webhooks (`jobs/events`), sharing that work. Run the web app
with RACKROOM_SCHEDULER=off to leave the jobs to these processes, or leave it on: the
web app's scheduler then simply takes its turn in the same election.

    python -m jobs [--run-now nightly_snapshot,nightly_reconcile] [--log-format text]

Logs are JSON lines on stdout (`jobs.logs`); metrics go to PROMETHEUS_MULTIPROC_DIR when
set, so the web workers' /metrics include the scheduler's (`jobs.metrics`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from jobs import metrics
from jobs.events.service import EventService
from jobs.logs import configure_logging
from jobs.scheduler import SchedulerService
from models.db import database_url, get_engine
from models.settings import ConfigError, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--expiry-seconds", type=float, default=5.0, help="reservation sweep")
    parser.add_argument("--poll", type=float, default=5.0, help="standby: try the lock every N s")
    parser.add_argument(
        "--watch", type=float, default=5.0, help="leader: check connectors every N s"
    )
    parser.add_argument(
        "--run-now",
        default="",
        metavar="JOB[,JOB]",
        help="when this process becomes the leader, run these job ids at once",
    )
    parser.add_argument(
        "--log-format", choices=["json", "text"], help="default: RACKROOM_LOG_FORMAT (json)"
    )
    args = parser.parse_args(argv)

    try:
        configured = settings()
    except ConfigError as error:
        print(f"python -m jobs: {error}", file=sys.stderr)
        return 2
    configure_logging("jobs", fmt=args.log_format)
    metrics.start_process_metrics(configured)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service = SchedulerService(
        get_engine(),
        expiry_seconds=args.expiry_seconds,
        poll_seconds=args.poll,
        watch_seconds=args.watch,
        run_now=[j.strip() for j in args.run_now.split(",") if j.strip()],
    )
    logging.getLogger("rackroom.jobs").info(
        "scheduler process on %s", database_url().split("@")[-1].split("?")[0]
    )
    service.start()
    events = EventService(get_engine()).start()
    stop.wait()
    events.stop()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
