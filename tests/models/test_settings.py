"""Settings: every variable read once, parsed one way, documented in the README."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models.settings import PROJECT_ROOT, ConfigError, Settings, reload_settings


@pytest.fixture
def environment(monkeypatch):
    """Set variables, then read the settings as a new process would."""

    def read(**values: str) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return reload_settings()

    yield read
    monkeypatch.undo()
    reload_settings()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300), ("45s", 45), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations_take_seconds_or_units(environment, text, seconds):
    assert environment(RACKROOM_ALERT_SCAN_INTERVAL=text).alert_scan_interval == timedelta(
        seconds=seconds
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("on", True), ("off", False), ("YES", True), ("0", False), ("true", True), ("no", False)],
)
def test_booleans_are_parsed_one_way(environment, text, expected):
    configured = environment(RACKROOM_SCHEDULER=text, RACKROOM_ALLOW_SELF_APPROVAL=text)
    assert configured.scheduler is expected and configured.allow_self_approval is expected


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("RACKROOM_SCHEDULER", "maybe", "valid boolean"),
        ("RACKROOM_ALERT_SCAN_INTERVAL", "soon", "not a duration"),
        ("PORT", "99999", "less than or equal to 65535"),
        ("RACKROOM_LOG_FORMAT", "xml", "'json' or 'text'"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(environment, name, value, says):
    with pytest.raises(ConfigError) as refused:
        environment(**{name: value})
    assert str(refused.value).startswith(f"{name}={value!r}: ")
    assert says in str(refused.value)


def test_database_urls_are_normalised_to_the_shipped_drivers(environment):
    configured = environment(DATABASE_URL="postgres://u:p@db:5432/stock")
    assert configured.effective_database_url == "postgresql+psycopg://u:p@db:5432/stock"
    assert environment(DATABASE_URL="").effective_database_url.endswith("/var/rackroom.db")


def test_workers_follow_redis(environment):
    assert environment(REDIS_URL="", RACKROOM_WEB_WORKERS="4").workers == 1
    assert environment(REDIS_URL="redis://127.0.0.1:6379/0").workers == 4
    assert environment(RACKROOM_WEB_WORKERS="2").workers == 2


def test_the_readme_lists_every_variable():
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    wanted = {field.validation_alias for field in Settings.model_fields.values()}
    assert wanted <= documented, f"missing from README: {sorted(wanted - documented)}"
