"""Every setting Rackroom takes from the environment, read once and parsed one way.

`settings()` is the only reader of `os.environ` for configuration: web workers, the
jobs process, the CLI and Alembic all ask it. Booleans accept on/off, yes/no,
true/false, 1/0; durations accept seconds ("300") or a unit ("30s", "5m", "2h", "1d",
"1h30m"). A bad value stops the process with a `ConfigError` naming the variable.

The README's configuration table lists every variable here; keep the two in step.
"""

from __future__ import annotations

import functools
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Kept in its own folder: the dev server's hot reload watches the project's top-level
#: entries, and SQLite's -wal/-shm files change on every read (rxconfig excludes var/).
DATA_DIR = PROJECT_ROOT / "var"


def private_dir(path: Path) -> Path:
    """`path` (and missing parents) made readable by this user only: 0700. Rackroom's own
    folders (var/, .states/) are tightened when they exist with wider modes."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(value: object) -> object:
    """'300', 300, '45s', '5m', '2h', '1d', '1h30m' → timedelta (others left to pydantic)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use seconds, or e.g. 30s, 5m, 2h, 1d)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_rate_setting(value: object) -> object:
    """'100/s', '600/m', '3600/h' or a bare number (per second) → tokens per second."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return value
    from models.rate_limits import parse_rate  # here: settings stays light to import

    try:
        return parse_rate(value)
    except Exception as error:  # InvalidQuantity: a domain error, told as pydantic's
        raise ValueError(str(error)) from None


Rate = Annotated[float, BeforeValidator(parse_rate_setting)]


def env(name: str, default: object, **constraints: object):
    """A setting read from the environment variable `name`."""
    return Field(default, validation_alias=name, **constraints)  # type: ignore[call-overload]


class Settings(BaseSettings):
    """The environment, typed. Field docs are what the README's table says."""

    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    # -- where things are
    database_url: str = env("DATABASE_URL", "")
    """The database; empty means the embedded SQLite file var/rackroom.db."""
    redis_url: str = env("REDIS_URL", "")
    """Redis for shared web-worker state (production); empty means one worker."""

    # -- serving (make prod)
    host: str = env("RACKROOM_HOST", "0.0.0.0")  # noqa: S104
    """Address `make prod` listens on."""
    port: int = env("PORT", 8080, ge=1, le=65535)
    """The one port `make prod` serves pages, websocket and API on."""
    web_workers: int | None = env("RACKROOM_WEB_WORKERS", None, ge=1, le=64)
    """Backend workers with Redis (default: 2 × cores + 1, at most 8); 1 without Redis."""
    public_url: str = env("RACKROOM_PUBLIC_URL", "")
    """The address users open (https://stock.example.com); baked into the frontend build.
    Empty: the browser uses the page's own host (and no port behind https)."""
    trusted_proxies: str = env("RACKROOM_TRUSTED_PROXIES", "")
    """Addresses (or CIDRs), comma-separated, of the reverse proxy in front (e.g. 127.0.0.1
    for nginx on the same machine): its X-Forwarded-For/-Proto give the client's address
    and scheme. Empty: forwarded headers are ignored (anyone could forge them)."""
    trusted_proxy_hops: int = env("RACKROOM_TRUSTED_PROXY_HOPS", 0, ge=0, le=10)
    """How the client's address is read from X-Forwarded-For of a request that came from
    a trusted proxy. 0: the rightmost entry that is not itself a trusted proxy (list
    every proxy in RACKROOM_TRUSTED_PROXIES). N: the N-th entry from the right, for a
    chain of N proxies each appending the address it saw (e.g. 2 for a CDN, then nginx)."""
    scheduler: bool = env("RACKROOM_SCHEDULER", True)
    """Run the job scheduler inside the web process (off when `python -m jobs` runs it)."""

    # -- operations
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = env("RACKROOM_LOG_LEVEL", "INFO")
    """Least severe log level written."""
    log_format: Literal["json", "text"] = env("RACKROOM_LOG_FORMAT", "json")
    """One JSON object per line (json), or plain lines for a terminal (text)."""
    metrics_token: SecretStr | None = env("RACKROOM_METRICS_TOKEN", None)
    """When set, GET /metrics needs `Authorization: Bearer <token>`."""
    metrics_dir: Path | None = env("PROMETHEUS_MULTIPROC_DIR", None)
    """Where worker processes share their metric counts (set by `make prod`)."""
    leader_timeout: Duration = env("RACKROOM_LEADER_TIMEOUT", timedelta(seconds=60))
    """/api/v1/ready fails when no scheduler leader was seen for this long."""
    analytics_dir: Path = env("RACKROOM_ANALYTICS_DIR", DATA_DIR / "analytics")
    """Where the scheduler's leader publishes the analytics frames (Arrow IPC files) that
    every web worker memory-maps; on a fast local disk, shared by the processes of one
    machine."""
    analytics_publish_interval: Duration = env(
        "RACKROOM_ANALYTICS_PUBLISH_INTERVAL", timedelta(seconds=30)
    )
    """How often the leader refreshes and, when anything changed, publishes the analytics
    frames (workers catch up on newer changes themselves in between)."""

    # -- sign-in
    session_idle_timeout: Duration = env("RACKROOM_SESSION_IDLE_TIMEOUT", timedelta(minutes=30))
    """A dashboard session unused this long has ended (beside its 12 h absolute end)."""
    login_concurrency: int = env("RACKROOM_LOGIN_CONCURRENCY", 2, ge=1, le=64)
    """Password checks (argon2, ~0.1-0.5 s of CPU each) one process runs at once."""
    password_hashing: Literal["standard", "cheap"] = env("RACKROOM_PASSWORD_HASHING", "standard")
    """argon2 cost for new hashes: "standard" (RFC 9106 low-memory); "cheap" is for test
    suites only (hashes made with it are not safe to keep)."""

    # -- per client address (as settled by RACKROOM_TRUSTED_PROXIES), beside per-key limits
    api_rate_per_address: Rate = env("RACKROOM_API_RATE_PER_ADDRESS", 100.0, gt=0)
    """Requests to /api/ one client address may make, as a rate ("100/s", "6000/m");
    over it and RACKROOM_API_BURST_PER_ADDRESS: 429 with Retry-After."""
    api_burst_per_address: int = env("RACKROOM_API_BURST_PER_ADDRESS", 200, ge=1, le=1_000_000)
    """Requests to /api/ one client address may make at once before its rate applies."""
    websocket_rate_per_address: Rate = env("RACKROOM_WEBSOCKET_RATE_PER_ADDRESS", 5.0, gt=0)
    """New dashboard websocket connections one client address may open, as a rate."""
    websocket_burst_per_address: int = env(
        "RACKROOM_WEBSOCKET_BURST_PER_ADDRESS", 60, ge=1, le=100_000
    )
    """New websocket connections one address may open at once (an office behind one NAT
    reconnecting after a restart); over it and the rate, the connection is refused."""

    # -- public polls (on top of 20 a minute per address and 5 per respondent)
    poll_daily_votes: int = env("RACKROOM_POLL_DAILY_VOTES", 5000, ge=1)
    """Embed votes one poll takes per UTC day, from everyone together."""
    poll_daily_votes_per_address: int = env("RACKROOM_POLL_DAILY_VOTES_PER_ADDRESS", 200, ge=1)
    """Embed votes one poll takes per UTC day from one client address (an IPv6 /64)."""

    # -- jobs and rules
    alert_scan_interval: Duration = env("RACKROOM_ALERT_SCAN_INTERVAL", timedelta(minutes=5))
    """How often the full alert scan runs."""
    alert_archive_after: Duration = env("RACKROOM_ALERT_ARCHIVE_AFTER", timedelta(days=30))
    """How long resolved alerts stay in the hot table before the nightly job archives them."""
    sync_concurrency: int = env("RACKROOM_SYNC_CONCURRENCY", 4, ge=1, le=64)
    """Brand syncs that may run at once."""
    allow_self_approval: bool = env("RACKROOM_ALLOW_SELF_APPROVAL", False)
    """Let a transfer's creator approve it too."""

    # -- events, webhooks and the broker
    event_retention: Duration = env("RACKROOM_EVENT_RETENTION", timedelta(days=30))
    """How long events (and their webhook deliveries) are kept before the purge job."""
    amqp_url: SecretStr | None = env("RACKROOM_AMQP_URL", None)
    """RabbitMQ to publish every event to (exchange rackroom.events); unset: no broker."""
    outbound_allow: str = env("RACKROOM_OUTBOUND_ALLOW", "")
    """Hosts or CIDRs, comma-separated, that webhooks and brand syncs may reach although
    they are private, loopback or link-local (e.g. 127.0.0.1 for a local test receiver)."""
    secret_key: SecretStr | None = env("RACKROOM_SECRET_KEY", None)
    """Fernet keys, comma-separated (the first encrypts, all decrypt), for secrets Rackroom
    must send on (connector tokens, poll and webhook signing secrets). Required by `make
    prod`; unset, `make run` uses a local key it makes in var/secret.key."""

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL normalised to the drivers Rackroom ships with."""
        url = self.database_url.strip() or f"sqlite:///{DATA_DIR / 'rackroom.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def workers(self) -> int:
        """How many web workers `make prod` runs."""
        if not self.redis_url:
            return 1
        return self.web_workers or min((os.cpu_count() or 1) * 2 + 1, 8)


class ConfigError(Exception):
    """A setting that cannot be used; the message names the variable and the value."""


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = first["loc"][0] if first["loc"] else "?"
    info = Settings.model_fields.get(str(field))
    name = info.validation_alias if info is not None else field
    value = first.get("input")
    return f"{name}={value!r}: {first['msg']}"


@functools.cache
def settings() -> Settings:
    """The process's settings (read from the environment on first use)."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again (tests, the launcher)."""
    settings.cache_clear()
    return settings()
