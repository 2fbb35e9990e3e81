"""OAuth2 client credentials against a tiny local token endpoint."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import build
from test_resilience import Step


def test_client_credentials_token_is_fetched_once_and_sent_as_bearer(bearing, token_endpoint, configure, out_dir):
    configure(
        url=bearing.url,
        client_id=token_endpoint.client_id,
        client_secret=token_endpoint.client_secret,
        token_url=token_endpoint.url,
        scope="lineage:write",
        token="ignored-when-client-credentials-are-set",
    )
    assert build(Step(n=3, out_dir=out_dir)) is True
    assert len(bearing.events) == 6
    assert len(token_endpoint.requests) == 1  # cached until it expires
    assert token_endpoint.requests[0]["form"] == {"grant_type": "client_credentials", "scope": "lineage:write"}
    assert {r["headers"]["Authorization"] for r in bearing.requests} == {"Bearer at-1"}


def test_expired_token_is_fetched_again(bearing, token_endpoint, configure, out_dir):
    token_endpoint.expires_in = 1
    configure(
        url=bearing.url,
        client_id=token_endpoint.client_id,
        client_secret=token_endpoint.client_secret,
        token_url=token_endpoint.url,
    )
    build(Step(n=1, out_dir=out_dir))
    time.sleep(1.1)
    build(Step(n=2, out_dir=out_dir))
    assert token_endpoint.issued == ["at-1", "at-2"]
    assert [r["headers"]["Authorization"] for r in bearing.requests] == ["Bearer at-1"] * 2 + ["Bearer at-2"] * 2


def test_refused_client_credentials_never_reach_bearing_nor_fail_the_pipeline(bearing, token_endpoint, configure, out_dir, caplog):
    integration = configure(
        url=bearing.url, client_id=token_endpoint.client_id, client_secret="wrong", token_url=token_endpoint.url
    )
    assert build(Step(n=3, out_dir=out_dir)) is True
    assert bearing.calls == 0
    assert len(token_endpoint.requests) == 1  # then the breaker skips the rest
    assert integration.sender.failed == 1 and integration.sender.skipped == 5
    messages = [r.getMessage() for r in caplog.records if r.name == "bearing_luigi"]
    assert any("token request failed" in m and "401" in m for m in messages)


def test_token_endpoint_down_is_bounded_like_bearing_down(bearing, closed_port_url, configure, out_dir):
    integration = configure(
        url=bearing.url, client_id="c", client_secret="s", token_url=closed_port_url + "/token", timeout=1
    )
    t0 = time.monotonic()
    assert build(Step(n=5, out_dir=out_dir)) is True
    assert time.monotonic() - t0 < 10
    assert bearing.calls == 0 and integration.sender.failed == 1 and integration.sender.skipped == 9


def test_resource_and_audience_name_who_the_token_is_for(bearing, token_endpoint, configure, out_dir):
    configure(
        url=bearing.url,
        client_id=token_endpoint.client_id,
        client_secret=token_endpoint.client_secret,
        token_url=token_endpoint.url,
        resource="https://bearing.example.com",
        audience="https://bearing.example.com",
    )
    assert build(Step(n=1, out_dir=out_dir)) is True
    assert token_endpoint.requests[0]["form"] == {
        "grant_type": "client_credentials",
        "resource": "https://bearing.example.com",
        "audience": "https://bearing.example.com",
    }


REPO = Path(__file__).resolve().parents[3]


# How long the IdP may take to answer its discovery document. Node starts it in about half a
# second here; a loaded CI machine once took longer than the 30 s this used to allow.
DEVIDP_START_TIMEOUT = 120.0


@pytest.fixture
def devidp(bearing, tmp_path):
    """The real development identity provider (node devidp/server.mjs), issuing machine tokens for
    the fake Bearing's URL. Its output goes to a log file that a failure to start prints."""
    if shutil.which("node") is None or not (REPO / "devidp/node_modules/oidc-provider").is_dir():
        pytest.skip("node and devidp/node_modules (scripts/setup.sh) are needed")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEVIDP_ISSUER": issuer, "DEVIDP_PRODUCER_AUDIENCE": bearing.url}
    log_path = tmp_path / "devidp.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["node", str(REPO / "devidp/server.mjs")], env=env, stdout=log, stderr=log)
    try:
        _wait_until_serving(proc, issuer, log_path)
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_until_serving(proc: subprocess.Popen, issuer: str, log_path: Path) -> None:
    """Returns once the discovery document answers; fails (with devidp's output) when the process
    exits or the deadline passes, so a test never runs against an IdP that is not there."""
    deadline = time.monotonic() + DEVIDP_START_TIMEOUT
    # No proxy: the IdP is on loopback, and an inherited http_proxy must not answer for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"devidp exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with opener.open(f"{issuer}/.well-known/openid-configuration", timeout=2):
                return
        except OSError as err:
            last_error = err
            time.sleep(0.1)
    pytest.fail(
        f"devidp did not answer at {issuer} within {DEVIDP_START_TIMEOUT:.0f} s ({last_error}):\n"
        f"{log_path.read_text(errors='replace')}"
    )


def test_devidp_issues_a_jwt_for_bearing_when_asked_with_resource(bearing, devidp, configure, out_dir):
    configure(
        url=bearing.url,
        client_id="luigi-orders",
        client_secret="luigi-orders-secret",
        token_url=f"{devidp}/token",
        resource=bearing.url,
        timeout=10.0,
    )
    assert build(Step(n=1, out_dir=out_dir)) is True
    bearer = {r["headers"]["Authorization"] for r in bearing.requests}
    assert len(bearer) == 1
    token = bearer.pop().removeprefix("Bearer ")
    header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in token.split(".")[:2])
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == devidp
    assert claims["aud"] == bearing.url
    assert claims["client_id"] == "luigi-orders"
