"""Where Reflex keeps sessions' state: Redis when REDIS_URL is set, else this worker's
memory — never pickles in .states/ (docs/security.md), which would hold session tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: rxconfig is read once per process, from the project root.
_PROBE = """
import asyncio, json, uuid
from reflex_base.config import get_config
from reflex.istate.manager import StateManager
from reflex.state import State

async def main():
    manager = StateManager.create()
    answer = {"mode": get_config().state_manager_mode.value, "manager": type(manager).__name__}
    if answer["mode"] != "redis":
        token = f"{uuid.uuid4()}_{State.get_full_name()}"
        async with manager.modify_state(token) as state:
            state.router_data = {"touched": True}
        await manager.set_state(token, await manager.get_state(token))
        await manager.close()
    print(json.dumps(answer))

asyncio.run(main())
"""


def probe(tmp_path: Path, redis_url: str) -> tuple[dict, list[str]]:
    """The state manager rxconfig makes Reflex pick, and what landed in the states folder."""
    states = tmp_path / "states"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFLEX_STATE")}
    env |= {"REDIS_URL": redis_url, "REFLEX_STATES_WORKDIR": str(states)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    files = sorted(p.name for p in states.rglob("*")) if states.exists() else []
    return answer, files


def test_without_redis_state_stays_in_memory_and_nothing_lands_on_disk(tmp_path):
    answer, files = probe(tmp_path, redis_url="")
    assert answer == {"mode": "memory", "manager": "StateManagerMemory"}
    assert files == []


def test_with_redis_state_goes_to_redis(tmp_path):
    answer, files = probe(tmp_path, redis_url="redis://127.0.0.1:6379/15")
    assert answer == {"mode": "redis", "manager": "StateManagerRedis"}
    assert files == []
