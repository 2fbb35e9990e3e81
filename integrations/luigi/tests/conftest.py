"""Stand-ins for Bearing (a capture server) and for an OAuth2 token endpoint, both stdlib http.server
in a thread, plus helpers to run real Luigi pipelines in-process and through the `luigi` CLI."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
sys.path.insert(0, str(HERE))


class Capture:
    """What the fake Bearing received, and how it should answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.status = 200
        self.headers: dict[str, str] = {}
        self.body = b'{"stored": true}'
        self.delay = 0.0  # seconds to sleep before answering (a hanging server)
        self.calls = 0

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["json"] for r in self.requests if r["path"] == "/api/v1/lineage"]

    def of(self, job: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["job"]["name"] == job]

    def types(self, job: str) -> list[str]:
        return [e["eventType"] for e in self.of(job)]


def _serve(handler_cls: type, state: Any) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _BearingHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        cap: Capture = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with cap.lock:
            cap.calls += 1
        if cap.delay:
            time.sleep(cap.delay)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with cap.lock:
            cap.requests.append(
                {"path": self.path, "headers": dict(self.headers.items()), "json": body, "raw": raw}
            )
        try:
            self.send_response(cap.status)
            for k, v in cap.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(cap.body)))
            self.end_headers()
            self.wfile.write(cap.body)
        except OSError:
            pass


@pytest.fixture
def bearing():
    cap = Capture()
    server, url = _serve(_BearingHandler, cap)
    cap.url = url  # type: ignore[attr-defined]
    yield cap
    server.shutdown()
    server.server_close()


class TokenEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.issued: list[str] = []
        self.expires_in = 3600
        self.client_id = "luigi-producer"
        self.client_secret = "s3cret"


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        te: TokenEndpoint = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = self.headers.get("Authorization", "")
        te.requests.append({"form": form, "authorization": auth})
        expected = "Basic " + base64.b64encode(f"{te.client_id}:{te.client_secret}".encode()).decode()
        if form.get("grant_type") != "client_credentials" or auth != expected:
            status, body = 401, {"error": "invalid_client"}
        else:
            token = f"at-{len(te.issued) + 1}"
            te.issued.append(token)
            status, body = 200, {"access_token": token, "token_type": "Bearer", "expires_in": te.expires_in}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def token_endpoint():
    te = TokenEndpoint()
    server, url = _serve(_TokenHandler, te)
    te.url = f"{url}/oauth2/token"  # type: ignore[attr-defined]
    yield te
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL nothing listens on (connection refused at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def out_dir(tmp_path) -> str:
    d = tmp_path / "out"
    d.mkdir()
    return str(d)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    # Settings come only from what each test sets.
    for k in list(os.environ):
        if k.startswith(("BEARING_", "OPENLINEAGE_")) and k != "BEARING_LUIGI_STATE_DIR":
            monkeypatch.delenv(k, raising=False)
    # Luigi's config must not pick up a luigi.cfg from wherever pytest runs.
    monkeypatch.setenv("LUIGI_CONFIG_PATH", str(HERE / "no-such-luigi.cfg"))
    yield


def run_cli(
    args: list[str], env: dict[str, str], cwd: str, timeout: float = 120, program: str = "luigi"
) -> subprocess.CompletedProcess:
    """Runs the real `luigi` command (or `luigi-bearing`) from the venv that runs pytest."""
    luigi_bin = Path(sys.executable).with_name(program)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BEARING_", "OPENLINEAGE_"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), str(HERE)])
    return subprocess.run(
        [str(luigi_bin), *args], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def run_ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["run"]["runId"] for e in events}


def facet(event: dict[str, Any], name: str) -> Optional[dict[str, Any]]:
    return (event["run"].get("facets") or {}).get(name)


@pytest.fixture
def configure(tmp_path):
    """configure(url=..., token=..., ...) -> the active Integration, with a fresh state directory."""
    import bearing_luigi
    from bearing_luigi.config import Settings

    counter = {"n": 0}

    def _configure(**kw: Any):
        counter["n"] += 1
        state = tmp_path / f"state-{counter['n']}"
        state.mkdir()
        kw.setdefault("timeout", 2.0)
        return bearing_luigi.install(Settings(**kw), state_dir=str(state))

    yield _configure
    bearing_luigi.install(Settings(enabled=False))


def build(*tasks: Any) -> bool:
    import luigi

    return luigi.build(list(tasks), local_scheduler=True, workers=1, log_level="WARNING")
