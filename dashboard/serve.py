"""`make prod`: Rackroom in production on one port, with the scheduler beside it.

    python -m dashboard.serve [--rebuild] [--check | --build]

1. Read the settings; check that `PORT` is free (when about to serve),
   `RACKROOM_SECRET_KEY` is set, `DATABASE_URL` answers and `REDIS_URL` (when set)
   answers — each failure is one line naming it.
2. Migrate the database to head (Alembic), then check that every stored secret
   decrypts with the configured keys.
3. Build the frontend for production, once: the build is reused while the code,
   the assets and the public URL are unchanged (`--rebuild` forces it).
4. Start two children and supervise them: the web server (Granian, Reflex in
   production mode, the compiled frontend, `/_event` and `/api/v1` on `PORT`; with
   Redis, `RACKROOM_WEB_WORKERS` workers sharing state in it, a worker that dies is
   respawned) and `python -m jobs` (the one-leader scheduler; web workers run with
   `RACKROOM_SCHEDULER=off`). SIGTERM/SIGINT stop both; if either exits, the other is
   stopped too and the exit status says so, for systemd to restart.

`--check` stops after step 2, `--build` after step 3 (what a deployment runs before it
restarts the services, docs/deploy.md). `python -m dashboard.serve web` is the web
child alone (systemd's rackroom-web.service runs it; rackroom-jobs.service runs
`python -m jobs`).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from jobs.logs import configure_logging
from models.settings import DATA_DIR, PROJECT_ROOT, ConfigError, Settings, reload_settings

log = logging.getLogger("rackroom.serve")

WEB_DIR = PROJECT_ROOT / ".web"
BUILD_INDEX = WEB_DIR / "build" / "client" / "index.html"
BUILD_STAMP = DATA_DIR / "frontend-build.json"
VENV_BIN = Path(sys.executable).parent
#: Seconds a child gets to finish in-flight work after SIGTERM before it is killed.
STOP_GRACE = 25


class Refused(Exception):
    """A precondition failed; the message is the one line the operator sees."""


# -- 1. preflight ------------------------------------------------------------------


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable)"


def check_port(configured: Settings) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((configured.host, configured.port))
        except OSError as error:
            raise Refused(
                f"PORT={configured.port}: cannot listen on {configured.host}:"
                f"{configured.port} ({error.strerror or error}); stop what uses it or set PORT"
            ) from None


def check_database(configured: Settings) -> None:
    url = configured.effective_database_url
    args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    engine = create_engine(url, poolclass=NullPool, connect_args=args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = (str(getattr(error, "orig", error)).strip().splitlines() or ["?"])[0]
        raise Refused(f"DATABASE_URL={_safe_url(url)}: cannot connect ({reason})") from None
    finally:
        engine.dispose()


def check_redis(configured: Settings) -> None:
    if not configured.redis_url:
        return
    import redis

    client = redis.Redis.from_url(configured.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except (redis.RedisError, ValueError) as error:
        raise Refused(
            f"REDIS_URL={_safe_url(configured.redis_url)}: cannot connect ({error})"
        ) from None
    finally:
        client.close()


def check_secret_key(configured: Settings) -> None:
    """Production encrypts with its own key, never a local file made on the fly."""
    from models.secrets import KEY_FILE, MAKE_A_KEY, check_key

    if not (configured.secret_key and configured.secret_key.get_secret_value().strip()):
        local = (
            f"; {KEY_FILE} holds the key this database's secrets are encrypted with, so "
            "set RACKROOM_SECRET_KEY to its contents"
            if KEY_FILE.exists()
            else ""
        )
        raise Refused(
            "RACKROOM_SECRET_KEY is not set: production needs its own key for connector "
            f"tokens and signing secrets (make one with {MAKE_A_KEY}, keep it with the "
            f"backups){local}"
        )
    try:
        check_key()
    except ConfigError as error:
        raise Refused(str(error)) from None


def check_stored_secrets() -> None:
    """Every stored secret decrypts with the configured keys (after migrating)."""
    from models.db import create_db_engine, read_session
    from models.secrets import check_all

    engine = create_db_engine(pool_size=1)
    try:
        with read_session(engine) as session:
            check_all(session)
    except ConfigError as error:
        raise Refused(str(error)) from None
    finally:
        engine.dispose()


# -- 2. migrate ----------------------------------------------------------------------


def migrate(configured: Settings) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = configured.effective_database_url
    config.attributes["configure_logger"] = False
    try:
        command.upgrade(config, "head")
    except Exception as error:
        raise Refused(f"DATABASE_URL: migrating to head failed ({error})") from None


# -- 3. build --------------------------------------------------------------------------


def public_api_url(configured: Settings) -> str:
    """The backend address baked into the frontend. localhost is replaced by the page's
    own host in the browser, and the port dropped behind https (Reflex's state.js)."""
    return configured.public_url or f"http://localhost:{configured.port}"


def build_inputs(configured: Settings) -> str:
    """A digest of everything the production bundle depends on."""
    digest = hashlib.sha256()
    digest.update(public_api_url(configured).encode())
    from importlib.metadata import version

    digest.update(version("reflex").encode())
    sources = [PROJECT_ROOT / "rxconfig.py", PROJECT_ROOT / "reflex.lock" / "package-lock.json"]
    for folder in ("dashboard", "assets"):
        sources += sorted(p for p in (PROJECT_ROOT / folder).rglob("*") if p.is_file())
    for path in sources:
        if path.exists() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_frontend(configured: Settings, *, force: bool = False) -> None:
    inputs = build_inputs(configured)
    if not force and BUILD_INDEX.exists() and BUILD_STAMP.exists():
        with BUILD_STAMP.open() as stamp:
            if json.load(stamp).get("inputs") == inputs:
                log.info("frontend build is current; not rebuilding")
                return
    log.info("building the frontend for production (a few minutes the first time)")
    # The build imports the app but counts nothing: no shared metrics directory for it.
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_API_URL": public_api_url(configured),
    }
    started = time.monotonic()
    build_log = DATA_DIR / "frontend-build.log"
    DATA_DIR.mkdir(exist_ok=True)
    with build_log.open("w") as output:
        done = subprocess.run(  # noqa: S603 (our own venv's reflex, fixed arguments)
            [str(VENV_BIN / "reflex"), "export", "--frontend-only", "--no-zip", "--env", "prod"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if done.returncode != 0 or not BUILD_INDEX.exists():
        tail = build_log.read_text(errors="replace").strip().splitlines()[-5:]
        raise Refused(f"the frontend build failed (see {build_log}): " + " | ".join(tail))
    BUILD_STAMP.write_text(json.dumps({"inputs": inputs, "built_at": time.time()}))
    log.info("frontend built in %.0f s", time.monotonic() - started)


# -- 4. serve ------------------------------------------------------------------------


def metrics_dir(configured: Settings) -> Path:
    """A fresh directory where every process of this server writes its metric counts."""
    path = configured.metrics_dir or DATA_DIR / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return path


def child_env(metrics_path: Path) -> dict[str, str]:
    """What both children inherit: where metrics go, and no stdout buffering."""
    return os.environ | {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_path),
        "PYTHONUNBUFFERED": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }


def web_env() -> dict[str, str]:
    """The web child's environment on top: Reflex's production mode serving the built
    frontend without compiling it again, its log records through our JSON handler (no
    progress bars on stdout), and no scheduler (the jobs child runs it)."""
    from reflex_base.environment import environment

    return {
        "RACKROOM_SCHEDULER": "off",
        environment.REFLEX_ENV_MODE.name: "prod",
        environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.name: "true",
        environment.REFLEX_SKIP_COMPILE.name: "true",
        environment.REFLEX_LOG_JSON.name: "true",
    }


def run_web() -> None:
    """The web child: Granian serving Reflex in production mode (never returns)."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    os.environ.update(web_env())
    os.environ.pop("REFLEX_MANAGED_LOGGING", None)  # our handlers, not the CLI's
    configured = reload_settings()  # workers fork from here: read after the update
    os.environ["REFLEX_API_URL"] = public_api_url(configured)
    handler = {"()": "jobs.logs.make_handler", "process": "web"}
    Server(
        target="dashboard.dashboard:app",
        factory=True,
        address=configured.host,
        port=configured.port,
        interface=Interfaces.ASGI,
        workers=configured.workers,
        respawn_failed_workers=True,
        log_level=LogLevels(configured.log_level.lower()),
        log_dictconfig={"handlers": {"console": handler, "access": handler}},
        working_dir=PROJECT_ROOT,
    ).serve()


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM if the launcher dies, however it dies (Linux
    PR_SET_PDEATHSIG), so a killed launcher never leaves a server or scheduler behind."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


class Supervisor:
    """Runs the web and jobs children; stops both when either ends or on a signal."""

    def __init__(self, commands: dict[str, tuple[list[str], dict[str, str]]]) -> None:
        self.commands = commands
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self) -> None:
        for name, (command, env) in self.commands.items():
            self.children[name] = subprocess.Popen(  # noqa: S603 (fixed commands)
                command,
                cwd=PROJECT_ROOT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the launcher, which stops them in order
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            log.info("started %s (pid %d)", name, self.children[name].pid)

    def request_stop(self, signum: int, _frame: object) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stopping = True

    def wait(self) -> int:
        while not self.stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    log.error("%s exited (status %s); stopping the server", name, child.returncode)
                    self.stop()
                    return 1
            time.sleep(0.5)
        self.stop()
        return 0

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %d s; killing it", name, STOP_GRACE)
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def serve(configured: Settings, *, rebuild: bool, stop_after: str | None) -> int:
    if stop_after is None:  # --check and --build run beside the live server, on its port
        check_port(configured)
    check_secret_key(configured)
    check_database(configured)
    check_redis(configured)
    migrate(configured)
    check_stored_secrets()
    if stop_after == "check":
        log.info(
            "checks passed: database at head, redis %s",
            "answers" if configured.redis_url else "not configured",
        )
        return 0
    build_frontend(configured, force=rebuild)
    if stop_after == "build":
        return 0
    check_port(configured)  # again: the build took minutes
    env = child_env(metrics_dir(configured))
    supervisor = Supervisor(
        {
            "web": ([sys.executable, "-m", "dashboard.serve", "web"], env | web_env()),
            "jobs": ([sys.executable, "-m", "jobs"], env),
        }
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, supervisor.request_stop)
    log.info(
        "serving on http://%s:%d with %d web worker(s)%s",
        configured.host,
        configured.port,
        configured.workers,
        " sharing state in Redis" if configured.redis_url else "",
    )
    supervisor.start()
    return supervisor.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("role", nargs="?", choices=["all", "web"], default="all")
    parser.add_argument("--rebuild", action="store_true", help="build the frontend even if current")
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--check", action="store_true", help="only check and migrate")
    stop.add_argument("--build", action="store_true", help="check, migrate and build; no serving")
    args = parser.parse_args(argv)
    try:
        configured = reload_settings()
    except ConfigError as error:
        print(f"rackroom: {error}", file=sys.stderr)
        return 2
    configure_logging("serve" if args.role == "all" else "web")
    if args.role == "web":
        try:
            check_secret_key(configured)
        except Refused as refusal:
            print(f"rackroom: {refusal}", file=sys.stderr)
            return 2
        if not BUILD_INDEX.exists():
            print(
                "rackroom: no production frontend build in .web/build: "
                "run `python -m dashboard.serve --build` first",
                file=sys.stderr,
            )
            return 2
        run_web()
        return 0
    try:
        stop_after = "check" if args.check else "build" if args.build else None
        return serve(configured, rebuild=args.rebuild, stop_after=stop_after)
    except Refused as refusal:
        print(f"rackroom: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
