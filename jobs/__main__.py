"""`python -m jobs`: the scheduler as its own process (DATABASE_URL picks the database).

Start as many as you like (one per machine, say): one leads and runs every job, the
others stand by and take over within `--poll` seconds when it stops. Run the web app
with RACKROOM_SCHEDULER=off to leave the jobs to these processes, or leave it on: the
web app's scheduler then simply takes its turn in the same election.

    python -m jobs [--run-now nightly_snapshot,nightly_reconcile] [--log-format text]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from jobs.scheduler import SchedulerService
from models.db import database_url, get_engine


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a message that is itself a JSON object is nested as is."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
        }
        try:
            parsed = json.loads(message) if message.startswith("{") else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            entry.update(parsed)
        else:
            entry["msg"] = message
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


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
    parser.add_argument("--log-format", choices=["json", "text"], default="json")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler(sys.stdout)
    if args.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

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
        "scheduler process on %s", database_url().split("@")[-1]
    )
    service.start()
    stop.wait()
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
