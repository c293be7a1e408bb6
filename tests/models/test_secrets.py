"""Secrets at rest (issue 15): connector tokens, poll and webhook signing secrets are
Fernet ciphertext in the database — in a `pg_dump` and in the SQLite file's bytes too —
the key rotates without losing any, and a missing or wrong key is a clear error."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

import models.secrets as secrets_module
from alembic import command
from jobs.webhooks import create_webhook
from models.base import UTCDateTime
from models.db import PROJECT_ROOT, create_db_engine, read_session, transaction
from models.polls import Poll
from models.polls.manage import create_poll
from models.secrets import (
    SecretUnreadable,
    check_all,
    decrypt,
    encrypted_columns,
    ensure_local_key,
    new_key,
    rotate_all,
)
from models.settings import ConfigError, private_dir, reload_settings
from models.syncs import Connector
from models.syncs.connectors import set_connector
from models.webhooks import WebhookEndpoint
from tests.conftest import migrate
from tests.factories import make_world
from tests.jobs.test_cli import rackroom
from tests.models.test_migrations import _config, fresh_url  # noqa: F401  (fresh_url: a fixture)

TOKEN = "tok-7f3a9c-brand-api-credential"
OLD_KEY = os.environ["RACKROOM_SECRET_KEY"]  # tests/conftest.py's
NEW_KEY = new_key()


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """`use_keys("new,old")` switches RACKROOM_SECRET_KEY (None: unset) for this test."""

    def switch(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("RACKROOM_SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("RACKROOM_SECRET_KEY", value)
        reload_settings()
        secrets_module.reset_keys()

    yield switch
    monkeypatch.undo()
    reload_settings()
    secrets_module.reset_keys()


def store_secrets(engine: Engine) -> dict[str, str]:
    """A connector with a token, a poll and a webhook endpoint: their plaintexts."""
    make_world(engine)
    with transaction(engine) as session:
        set_connector(session, "NRD", style="json", url="http://127.0.0.1:9/feed", token=TOKEN)
        poll = create_poll(session, "Restock?", [{"label": "Yes"}], actor="t", brand_scope=None)
        _endpoint, webhook_secret = create_webhook(session, "http://127.0.0.1:9/h", "stock.*")
    return {"token": TOKEN, "poll": poll.webhook_secret, "webhook": webhook_secret}


def raw_values(engine: Engine) -> dict[str, list[str]]:
    """What the database holds in every `…_enc` column, read without decrypting."""
    with read_session(engine) as session:
        return {
            column.name: list(session.scalars(select(column.light().c[column.column])))
            for column in encrypted_columns()
        }


def test_every_encrypted_column_is_found_and_holds_ciphertext(engine):
    plain = store_secrets(engine)
    names = [column.name for column in encrypted_columns()]
    assert names == [
        "poll.webhook_secret_enc",
        "sync_connector.token_enc",
        "webhook_endpoint.secret_enc",
        "webhook_endpoint.previous_secret_enc",
    ]
    raw = raw_values(engine)
    stored = [v for values in raw.values() for v in values if v is not None]
    assert len(stored) == 3 and all(v.startswith("gAAAAA") for v in stored)
    assert not set(plain.values()) & set(stored)
    with read_session(engine) as session:  # the code sees plain values
        assert session.scalar(select(Connector.token)) == TOKEN
        assert session.scalar(select(Poll.webhook_secret)) == plain["poll"]
        assert decrypt(session.scalar(select(WebhookEndpoint.secret_enc))) == plain["webhook"]


def test_the_sqlite_file_holds_no_secret_in_clear(sqlite_engine):
    plain = store_secrets(sqlite_engine)
    with transaction(sqlite_engine) as session:  # a changed token leaves no trace either
        set_connector(session, "NRD", token="second-token-value")
    path = Path(sqlite_engine.url.database)
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    on_disk = b"".join(p.read_bytes() for p in files)
    for value in [*plain.values(), "second-token-value"]:
        assert value.encode() not in on_disk, value
    assert b"gAAAAA" in on_disk


def test_pg_dump_holds_no_secret_in_clear(pg_engine):
    plain = store_secrets(pg_engine)
    url = make_url(pg_engine.url).set(drivername="postgresql")
    dump = subprocess.run(
        ["pg_dump", "--no-owner", url.render_as_string(hide_password=False)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "sync_connector" in dump and "gAAAAA" in dump
    for value in plain.values():
        assert value not in dump, value


def test_rotation_keeps_every_secret_and_the_old_key_can_then_go(engine, use_keys):
    plain = store_secrets(engine)
    before = raw_values(engine)

    use_keys(f"{NEW_KEY},{OLD_KEY}")  # the new key first: encrypts; the old still decrypts
    with read_session(engine) as session:
        assert session.scalar(select(Connector.token)) == TOKEN
    with transaction(engine) as session:
        counts = rotate_all(session)
    assert counts == {
        "poll.webhook_secret_enc": 1,
        "sync_connector.token_enc": 1,
        "webhook_endpoint.secret_enc": 1,
        "webhook_endpoint.previous_secret_enc": 0,
    }
    after = raw_values(engine)
    assert after != before and after["webhook_endpoint.previous_secret_enc"] == [None]

    use_keys(NEW_KEY)  # the old key dropped: everything still reads
    with read_session(engine) as session:
        assert check_all(session)["sync_connector.token_enc"] == 1
        assert session.scalar(select(Connector.token)) == TOKEN
        assert session.scalar(select(Poll.webhook_secret)) == plain["poll"]
        assert decrypt(session.scalar(select(WebhookEndpoint.secret_enc))) == plain["webhook"]

    use_keys(OLD_KEY)  # and the old key alone no longer reads them
    with read_session(engine) as session, pytest.raises(SecretUnreadable) as refused:
        session.scalar(select(Connector.token))
    assert "A connector's token cannot be decrypted: RACKROOM_SECRET_KEY does not hold" in str(
        refused.value
    )


def test_rotation_is_all_or_nothing(sqlite_engine, use_keys):
    store_secrets(sqlite_engine)
    use_keys(new_key())  # a poll encrypted with a key that is then lost
    with transaction(sqlite_engine) as session:
        lost = create_poll(session, "Lost?", [{"label": "Yes"}], actor="t", brand_scope=None)
    before = raw_values(sqlite_engine)

    use_keys(f"{NEW_KEY},{OLD_KEY}")
    unreadable = rf"poll.webhook_secret_enc of row {lost.poll.id} cannot be decrypted"
    with pytest.raises(SecretUnreadable, match=unreadable), transaction(sqlite_engine) as session:
        rotate_all(session)
    assert raw_values(sqlite_engine) == before
    with read_session(sqlite_engine) as session, pytest.raises(SecretUnreadable):
        check_all(session)


def test_a_missing_or_malformed_key_is_a_clear_error(use_keys, monkeypatch, tmp_path):
    monkeypatch.setattr(secrets_module, "KEY_FILE", tmp_path / "secret.key")
    use_keys(None)
    with pytest.raises(ConfigError, match="RACKROOM_SECRET_KEY is not set"):
        secrets_module.encrypt("x")

    use_keys("not-a-fernet-key")
    with pytest.raises(ConfigError) as refused:
        secrets_module.encrypt("x")
    message = str(refused.value)
    assert message.startswith("RACKROOM_SECRET_KEY: each key must be 32 url-safe base64")
    assert "not-a-fernet-key" not in message  # a key is never echoed


def test_the_local_key_is_made_once_and_private(use_keys, monkeypatch, tmp_path):
    key_file = tmp_path / "var" / "secret.key"
    monkeypatch.setattr(secrets_module, "KEY_FILE", key_file)
    assert ensure_local_key(key_file) is None and not key_file.exists()  # the key is set

    use_keys(None)
    assert ensure_local_key(key_file) == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    made = key_file.read_text()
    assert ensure_local_key(key_file) is None and key_file.read_text() == made
    assert decrypt(secrets_module.encrypt("round trip")) == "round trip"


def test_rackroom_secrets_rotate_and_check(tmp_path, sqlite_template):
    path = tmp_path / "cli.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = f"sqlite:///{path}"
    engine = create_db_engine(database)
    try:
        store_secrets(engine)
    finally:
        engine.dispose()

    def run(keys: str, *args: str) -> subprocess.CompletedProcess:
        os.environ["RACKROOM_SECRET_KEY"], saved = keys, os.environ["RACKROOM_SECRET_KEY"]
        try:
            return rackroom(database, "secrets", *args)
        finally:
            os.environ["RACKROOM_SECRET_KEY"] = saved

    refused = run(NEW_KEY, "rotate")  # the old key missing: nothing is changed
    assert refused.returncode == 1
    assert "poll.webhook_secret_enc of row 1 cannot be decrypted" in refused.stderr
    rotated = run(f"{NEW_KEY},{OLD_KEY}", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 3 secret(s) under the first key" in rotated.stdout
    assert "sync_connector.token_enc" in rotated.stdout
    assert "may now be dropped" in rotated.stdout
    checked = run(NEW_KEY, "check")
    assert checked.returncode == 0 and "ok: all 3 stored secret(s) decrypt" in checked.stdout
    stale = run(OLD_KEY, "check")
    assert stale.returncode == 1 and "RACKROOM_SECRET_KEY does not hold" in stale.stderr


def test_files_holding_secrets_are_private(tmp_path):
    database = tmp_path / "data" / "rackroom.db"
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x TEXT)"))
        for file in (database, Path(f"{database}-wal")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    finally:
        engine.dispose()

    database.chmod(0o644)  # an older install's file is tightened
    create_db_engine(f"sqlite:///{database}").dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    wide.chmod(0o755)
    assert stat.S_IMODE(private_dir(wide).stat().st_mode) == 0o700


def test_the_dashboard_makes_its_state_folder_private(tmp_path):
    """rxconfig (read by every Reflex process) makes .states/ 0700 before any pickle,
    and the pickles Reflex writes there (`Path.write_bytes`) 0600."""
    pickle = "import rxconfig, pathlib; pathlib.Path('.states/t.pkl').write_bytes(b'x')"
    subprocess.run(
        [str(Path(os.sys.executable)), "-c", pickle],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
        check=True,
        timeout=120,
    )
    assert stat.S_IMODE((tmp_path / ".states").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / ".states" / "t.pkl").stat().st_mode) == 0o600


# --- the migration ------------------------------------------------------------------------


def test_the_migration_encrypts_existing_values_and_the_downgrade_restores_them(fresh_url):  # noqa: F811
    command.upgrade(_config(fresh_url), "0011_password_change")
    now = datetime.now(UTC)
    brand = sa.table(
        "brand", sa.column("code"), sa.column("name"), sa.column("created_at", UTCDateTime)
    )
    connector = sa.table(
        "sync_connector", *map(sa.column, ["brand_id", "style", "url", "token", "auth_header",
        "page_size", "every_seconds", "policy", "mapping", "paused"]),
        sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime),
    )  # fmt: skip
    poll = sa.table(
        "poll", *map(sa.column, ["question", "status", "webhook_secret", "created_by"]),
        sa.column("created_at", UTCDateTime),
    )  # fmt: skip
    poll_secret = "whsec_plaintext-poll-secret-0011"
    engine = create_db_engine(fresh_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(brand.insert().values(code="NRD", name="Nordlys", created_at=now))
            conn.execute(connector.insert().values(
                brand_id=1, style="json", url="http://127.0.0.1:9/f", token=TOKEN,
                auth_header="Authorization", page_size=500, every_seconds=900,
                policy="newest", mapping="{}", paused=False, created_at=now, updated_at=now,
            ))  # fmt: skip
            conn.execute(poll.insert().values(
                question="Q?", status="open", webhook_secret=poll_secret, created_by="t",
                created_at=now,
            ))  # fmt: skip
    finally:
        engine.dispose()

    migrate(fresh_url)
    engine = create_db_engine(fresh_url, pool_size=1)
    try:
        raw = raw_values(engine)
        assert raw["sync_connector.token_enc"][0].startswith("gAAAAA")
        assert raw["poll.webhook_secret_enc"][0].startswith("gAAAAA")
        with read_session(engine) as session:
            assert session.scalar(select(Connector.token)) == TOKEN
            assert session.scalar(select(Poll.webhook_secret)) == poll_secret
    finally:
        engine.dispose()
    if fresh_url.startswith("sqlite"):  # the dropped plaintext is not left in freed pages
        path = Path(make_url(fresh_url).database)
        on_disk = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert TOKEN.encode() not in on_disk and poll_secret.encode() not in on_disk

    command.downgrade(_config(fresh_url), "0011_password_change")
    engine = create_db_engine(fresh_url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT token FROM sync_connector")) == TOKEN
            assert conn.scalar(sa.text("SELECT webhook_secret FROM poll")) == poll_secret
    finally:
        engine.dispose()
