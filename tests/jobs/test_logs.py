"""Logs: one JSON object per line, the request or event scope on each, no secrets."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from jobs.logs import bind, bound, configure_logging, redact


@pytest.fixture
def lines():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("test", level="INFO", fmt="json", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize(
    "secret",
    [
        "rr_Q2hhbmdlTWVQbGVhc2VfX19fX19fX19fX19fX18",
        "rrt_T2F1dGhBY2Nlc3NUb2tlbl9fX19fX19fX18",
        "whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRlc3Rz",
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "postgresql://rackroom:hunter2-pass@db/stock",
        "rackroom_session=Xk3n9Qf0aZ7_lPq2",
        'password="correct horse"',
        "token=abc123def456",
    ],
)
def test_secrets_are_redacted(secret):
    cleaned = redact(f"something happened with {secret} in it")
    assert "[redacted]" in cleaned
    for part in ("Q2hhbmdl", "T2F1dGhB", "c2lnbmluZy1", "eyJhbGci", "hunter2", "Xk3n9Qf0",
                 "correct", "abc123"):
        assert part not in cleaned


def test_a_line_is_json_with_its_scope_and_no_secret(lines):
    log = logging.getLogger("rackroom.test")
    with bound(request_id="req-1"):
        bind(api_key_name="storefront")
        log.info("reserved for key %s", "rr_abcdefghijklmnopqrstuvwxyz012345")
    log.warning("outside")
    first, second = lines()
    assert first["message"] == "reserved for key rr_[redacted]"
    assert (first["request_id"], first["api_key_name"], first["level"]) == (
        "req-1",
        "storefront",
        "INFO",
    )
    assert first["process"] == "test" and first["logger"] == "rackroom.test"
    assert "request_id" not in second


def test_a_thread_started_in_a_scope_adds_to_it(lines):
    """The API runs endpoints in worker threads; what they bind shows on the request's line."""
    import contextvars

    log = logging.getLogger("rackroom.test")
    with bound(request_id="req-2"):
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(bind,), kwargs={"api_key_name": "k1"})
        worker.start()
        worker.join()
        log.info("done")
    assert lines()[0]["api_key_name"] == "k1"


def test_structured_messages_merge_and_tracebacks_are_redacted(lines):
    log = logging.getLogger("rackroom.test")
    log.info(json.dumps({"event": "job_run", "job": "nightly", "ok": True}))
    try:
        raise RuntimeError("failed with token=abcdef123456")
    except RuntimeError:
        log.exception("boom")
    job, failure = lines()
    assert (job["event"], job["job"], job["ok"], job["message"]) == (
        "job_run",
        "nightly",
        True,
        "job_run",
    )
    assert "abcdef123456" not in failure["exc"] and "RuntimeError" in failure["exc"]
