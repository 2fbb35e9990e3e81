"""OAuth2 client credentials against a tiny local token endpoint."""

from __future__ import annotations

import time

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
