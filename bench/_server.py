"""The production server for benchmarks: `make prod`'s start code in a subprocess.

`production_server(database_url, workers=..., redis_url=...)` starts
`python -m dashboard.serve` on a free port (building the frontend first if it is not
current), waits until /api/v1/ready answers 200, and stops it afterwards. Also: a
load generator for plain HTTP (several client processes, asyncio + httpx each).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 1200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def children(self, pid: int | None = None) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(pid or self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [int(p) for p in out.split()]

    def web_workers(self) -> list[int]:
        workers: list[int] = []
        for child in self.children():
            with contextlib.suppress(FileNotFoundError):
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"dashboard.serve\0web" in cmdline:
                    workers += self.children(child)
        return workers


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def production_server(
    database_url: str, *, workers: int = 1, redis_url: str = "", extra_env: dict | None = None
) -> Iterator[Server]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="rackroom-bench-prod-") as work:
        env = {
            k: v
            for k, v in os.environ.items()
            if k == "RACKROOM_SECRET_KEY" or not k.startswith("RACKROOM_")
        } | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PORT": str(port),
            "RACKROOM_HOST": "127.0.0.1",
            "RACKROOM_WEB_WORKERS": str(workers),
            "RACKROOM_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(Path(work) / "metrics"),
            "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
            **(extra_env or {}),
        }
        log_path = Path(work) / "server.log"
        with log_path.open("w") as out:
            process = subprocess.Popen(
                [str(VENV_BIN / "python"), "-m", "dashboard.serve"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = Server(f"http://127.0.0.1:{port}", process, log_path)
        try:
            started = time.monotonic()
            while True:
                if process.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-3000:]
                    raise SystemExit(f"the production server exited:\n{tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{server.url}/api/v1/ready", timeout=5).status_code == 200:
                        break
                if time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise SystemExit("the production server was not ready in time")
                time.sleep(1)
            log(f"production server ({workers} worker(s){', Redis' if redis_url else ''}) "
                f"ready in {time.monotonic() - started:.0f} s")
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


# --- plain HTTP load -------------------------------------------------------------------

WRK = shutil.which("wrk")
#: wrk's Lua: a JSON POST per request whose body comes from make_body(thread, n).
_WRK_POST = """
local thread_id = 0
local n = 0
setup = function(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
request = function()
  n = n + 1
  local body = make_body(tid, n)
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "%(authorization)s",
  }, body)
end
%(make_body)s
"""


def wrk(url: str, *, seconds: float = 10, connections: int = 32, threads: int = 2,
        lua: str | None = None) -> tuple[float, int]:
    """Requests per second and non-2xx answers, measured by wrk (C, so the client is
    not the bottleneck on a small machine)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
        if lua:
            script.write(lua)
            script.flush()
            command += ["-s", script.name]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, int(bad.group(1)) if bad else 0


def wrk_post(
    url: str, path: str, authorization: str, make_body_lua: str, **kw: float
) -> tuple[float, int]:
    lua = _WRK_POST % {"path": path, "authorization": authorization, "make_body": make_body_lua}
    return wrk(url + path, lua=lua, **kw)


Request = Callable[[int, int], tuple[str, str, dict | None]]


async def _client_loop(base: str, headers: dict, make: Request, proc: int, conc: int,
                       seconds: float, out: list) -> None:
    done = 0
    statuses: dict[int, int] = {}
    began = time.perf_counter()
    deadline = began + seconds
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=30) as client:

        async def worker(n: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < deadline:
                method, path, body = make(proc * 1000 + n, i)
                response = await client.request(method, path, json=body)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                done += 1
                i += 1

        await asyncio.gather(*(worker(n) for n in range(conc)))
    out.append((done, time.perf_counter() - began, statuses))


def _client_process(base, headers, make, proc, conc, seconds, queue) -> None:
    out: list = []
    asyncio.run(_client_loop(base, headers, make, proc, conc, seconds, out))
    queue.put(out[0])


def hammer(
    base: str, make: Request, *, seconds: float = 10, processes: int = 2,
    concurrency: int = 16, headers: dict | None = None,
) -> tuple[float, dict[int, int]]:
    """Requests per second from `processes` × `concurrency` clients, and the statuses."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    procs = [
        context.Process(
            target=_client_process,
            args=(base, headers or {}, make, p, concurrency, seconds, queue),
        )
        for p in range(processes)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    statuses: dict[int, int] = {}
    for _, _, counts in results:
        for status, n in counts.items():
            statuses[status] = statuses.get(status, 0) + n
    return sum(done / elapsed for done, elapsed, _ in results), statuses
