"""Operations endpoints: liveness, readiness and Prometheus metrics.

- `GET /api/v1/health`: the process answers (no database), for a load balancer's
  liveness probe and for restarts.
- `GET /api/v1/ready`: 200 when this worker can serve — the database answers and is
  at the code's migration head, Redis answers (when configured), and a scheduler
  leader was seen within RACKROOM_LEADER_TIMEOUT — else 503 naming each failing check.
- `GET /metrics`: Prometheus text, every worker's counts added up (`jobs.metrics`);
  with RACKROOM_METRICS_TOKEN set it needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import functools
import hmac
from typing import Any

import redis
from fastapi import APIRouter, Request, Response
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from dashboard.api.errors import ApiError, error_response
from dashboard.api.schemas import ErrorBody
from jobs import metrics
from models.base import utcnow
from models.db import get_engine, is_sqlite
from models.health import readiness_problems
from models.settings import settings

router = APIRouter(tags=["operations"])

#: Seconds a readiness probe may wait on the database or Redis before calling it down.
PROBE_TIMEOUT = 3


@functools.lru_cache(maxsize=4)
def _probe_engine(engine: Engine) -> Engine:
    """A connection per probe with a short connect timeout: an unreachable database
    must answer 503 quickly, not hang the probe on the pool or the TCP handshake."""
    if is_sqlite(engine):
        return engine
    return create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": PROBE_TIMEOUT,
            "application_name": "rackroom-ready",
            "options": f"-c statement_timeout={PROBE_TIMEOUT * 1000}",
        },
    )


def _redis_problem(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
    )
    try:
        client.ping()
        return None
    except redis.RedisError as error:
        return f"unreachable: {type(error).__name__}: {error}"
    finally:
        client.close()


@router.get("/api/v1/health")
def health() -> dict[str, str]:
    """Liveness: answers without touching the database."""
    return {"status": "ok"}


@router.get(
    "/api/v1/ready",
    responses={
        503: {
            "model": ErrorBody,
            "description": "not_ready: the failing checks are named in details",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    },
)
def ready() -> Any:
    """Readiness: database, migrations, Redis (when configured) and the scheduler leader."""
    configured = settings()
    problems = readiness_problems(
        _probe_engine(get_engine()), leader_timeout=configured.leader_timeout, now=utcnow()
    )
    if configured.redis_url and (problem := _redis_problem(configured.redis_url)):
        problems["redis"] = problem
    checks = {name: problems.get(name, "ok") for name in ("database", "migrations", "scheduler")}
    checks["redis"] = problems.get("redis", "ok") if configured.redis_url else "not configured"
    if "database" in problems:
        checks["migrations"] = checks["scheduler"] = "not checked"
    if not problems:
        return {"status": "ready", "checks": checks}
    summary = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
    return error_response(
        503,
        "not_ready",
        f"Not ready — {summary}",
        {"failing": sorted(problems), "checks": checks},
        headers={"Retry-After": "5"},
    )


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request) -> Response:
    token = settings().metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "Send the metrics token: Authorization: Bearer …")
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)

