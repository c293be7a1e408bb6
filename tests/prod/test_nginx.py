"""The production server behind nginx with TLS: the recipe in deploy/ and docs/deploy.md.

Debian's nginx runs `deploy/nginx-rackroom.conf` as shipped, with only its certificate
(self-signed, made here), its ports and its server name replaced.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from models.catalog import Variant, Warehouse
from models.db import create_db_engine, read_session, transaction
from models.stock import receive
from tests.prod.conftest import ROOT, ProdServer, require

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx-rackroom.conf"


def site_config(tls_port: int, http_port: int, upstream_port: int, certs: Path) -> str:
    """The shipped site with this test's ports, certificate and host; each replacement
    must apply, so the file cannot drift from what is tested."""
    text = SITE.read_text()
    replacements = [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"server 127\.0\.0\.1:8080;", f"server 127.0.0.1:{upstream_port};"),
        (r"/etc/letsencrypt/live/rackroom\.example\.com/fullchain\.pem", str(certs / "cert.pem")),
        (r"/etc/letsencrypt/live/rackroom\.example\.com/privkey\.pem", str(certs / "key.pem")),
        (r"rackroom\.example\.com", "localhost"),
    ]
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text)
        assert count, f"{SITE.name} no longer has {pattern!r}"
    return text


@dataclass(frozen=True)
class Proxy:
    https: str
    http: str


@pytest.fixture(scope="module")
def proxy(prod: ProdServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    require(None if Path(NGINX).exists() else "nginx is not installed (apt-get install nginx)")
    work = tmp_path_factory.mktemp("nginx")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(work / "key.pem"),
            "-out",
            str(work / "cert.pem"),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    # The standard ports, as deployed: the browser's websocket URL drops the port behind
    # https (Reflex's state.js), so a test on another port would need RACKROOM_PUBLIC_URL.
    tls_port, http_port = 443, 80
    for port in (tls_port, http_port):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                pytest.fail(f"port {port} is taken ({error}); the nginx test needs it")
    (work / "site.conf").write_text(site_config(tls_port, http_port, prod.port, work))
    (work / "nginx.conf").write_text(
        f"""
        worker_processes 1;
        pid {work}/nginx.pid;
        error_log {work}/error.log info;
        user root;
        events {{ worker_connections 512; }}
        http {{
            access_log {work}/access.log;
            client_body_temp_path {work}/body;
            proxy_temp_path {work}/proxy;
            fastcgi_temp_path {work}/fastcgi;
            uwsgi_temp_path {work}/uwsgi;
            scgi_temp_path {work}/scgi;
            include /etc/nginx/mime.types;
            include {work}/site.conf;
        }}
        """
    )
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(work / "nginx.conf"), "-p", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [NGINX, "-c", str(work / "nginx.conf"), "-p", str(work), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = "https://localhost"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v1/health", verify=False, timeout=2).is_success:
                    break
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.3)
        yield Proxy(https=url, http="http://localhost")
    finally:
        process.send_signal(signal.SIGTERM)  # fast shutdown: drop open websockets too
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_free(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx does
            try:
                probe.bind(("127.0.0.1", port))
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    pytest.fail(f"port {port} is taken ({error}); the nginx test needs it")
        time.sleep(0.3)


def test_plain_http_is_sent_to_https_and_stays_there(proxy: Proxy) -> None:
    moved = httpx.get(f"{proxy.http}/stock?q=x", follow_redirects=False, timeout=10)
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://localhost/stock?q=x"
    response = httpx.get(f"{proxy.https}/login", verify=False, follow_redirects=False, timeout=10)
    assert response.headers["strict-transport-security"].startswith("max-age=")
    if response.is_redirect:  # the app's own (/login → /login/) keeps the scheme and port
        assert response.headers["location"].startswith(f"{proxy.https}/")


def test_sign_in_and_a_live_grid_over_https_and_wss(
    prod: ProdServer, proxy: Proxy, chromium: Browser
) -> None:
    sku, warehouse = "SOLS-SO-CREW-M", "MCR"
    context = chromium.new_context(base_url=proxy.https, ignore_https_errors=True)
    page = context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    handoffs: list = []  # GET /auth/session, which sets the session cookie
    page.on("response", lambda r: handoffs.append(r) if "/auth/session" in r.url else None)
    page.goto("/login")
    page.get_by_label("Email").fill(prod.seeded.merchandiser.email)
    page.get_by_label("Password").fill(prod.seeded.merchandiser.password)
    page.get_by_label("Password").press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"/stock?q={sku}")
    cell = page.get_by_role("button", name=f"Correct {sku} at {warehouse}")
    expect(cell).to_be_visible()
    wss = proxy.https.replace("https://", "wss://") + "/_event"
    assert sockets and all(url.startswith(wss) for url in sockets), sockets
    prod.secrets_used.update(c["value"] for c in context.cookies())
    cookie = next(c for c in context.cookies() if c["name"] == "rackroom_session")
    assert cookie["sameSite"] == "Strict" and cookie["secure"] and cookie["httpOnly"]
    (handoff,) = handoffs
    set_cookie = [p.strip().lower() for p in (handoff.header_value("set-cookie") or "").split(";")]
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= set(set_cookie), set_cookie
    assert "rackroom_session" not in page.evaluate("document.cookie")  # no script reads it

    before = int(cell.inner_text().replace(",", ""))
    page.evaluate("window.__sameDocument = true")
    engine = create_db_engine(prod.database_url, pool_size=1)
    try:
        with read_session(engine) as session:
            variant = session.scalars(select(Variant.id).where(Variant.sku == sku)).one()
            place = session.scalars(select(Warehouse.id).where(Warehouse.code == warehouse)).one()
        with transaction(engine) as session:
            receive(session, variant, place, 6, actor="goods-in")
    finally:
        engine.dispose()
    expect(cell).to_have_text(f"{before + 6:,}", timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # live, not a reload
    context.close()


def test_the_app_sees_the_visitor_not_the_proxy(prod: ProdServer, proxy: Proxy) -> None:
    """The app takes the client's address from the trusted proxy's X-Forwarded-For (here
    the visitor is itself on 127.0.0.1, a trusted address, so the address it forwarded is
    the one that counts), and logs nginx's request id."""
    response = httpx.get(
        f"{proxy.https}/api/v1/health",
        verify=False,
        headers={"X-Forwarded-For": "203.0.113.9"},
        timeout=10,
    )
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    time.sleep(0.5)
    logged = [json.loads(line) for line in prod.lines() if request_id in line]
    assert [(e["route"], e["client"]) for e in logged] == [("/api/v1/health", "203.0.113.9")]
