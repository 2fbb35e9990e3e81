"""Bearing down, hanging, overloaded or refusing: the pipeline runs on with its own result, and the
time it loses is bounded (counted in calls the circuit breaker skipped rather than timed, plus a
generous wall-clock bound)."""

from __future__ import annotations

import logging
import time

import luigi
from conftest import build

import pipeline


class Step(luigi.Task):
    """A chain of N trivial tasks: Step(n) requires Step(n-1)."""

    n = luigi.IntParameter()
    out_dir = luigi.Parameter(significant=False)

    def requires(self):
        return Step(n=self.n - 1, out_dir=self.out_dir) if self.n > 1 else []

    def output(self):
        return luigi.LocalTarget(f"{self.out_dir}/step-{self.n}")

    def run(self):
        with self.output().open("w") as f:
            f.write("ok")


def _warnings(caplog):
    return [r for r in caplog.records if r.name == "bearing_luigi" and r.levelno >= logging.WARNING]


def test_server_down_pipeline_keeps_its_result_and_breaker_skips_the_rest(configure, closed_port_url, out_dir, caplog):
    integration = configure(url=closed_port_url, timeout=2.0, breaker_cooldown=60)
    t0 = time.monotonic()
    assert build(pipeline.Load(out_dir=out_dir, fail=True)) is False
    assert build(pipeline.Load(out_dir=out_dir + "/green", fail=False)) is True
    elapsed = time.monotonic() - t0
    s = integration.sender
    # One attempt found Bearing down; every later event was skipped at once.
    assert s.failed == 1 and s.sent == 0
    assert s.skipped >= 3
    assert elapsed < 10
    assert len(_warnings(caplog)) == 1
    assert "unavailable" in _warnings(caplog)[0].getMessage()


def test_hanging_server_costs_one_timeout_not_one_per_event(bearing, configure, out_dir):
    bearing.delay = 5.0  # answers long after our 0.3 s limit
    integration = configure(url=bearing.url, timeout=0.3, breaker_cooldown=60)
    t0 = time.monotonic()
    assert build(Step(n=30, out_dir=out_dir)) is True
    elapsed = time.monotonic() - t0
    s = integration.sender
    assert s.failed == 1 and s.sent == 0 and s.skipped == 2 * 30 - 1
    assert bearing.calls == 1
    # One 0.3 s timeout in all; the rest is Luigi's own scheduling of 30 tasks.
    assert elapsed < 15


def test_sends_resume_after_the_cooldown(bearing, configure, out_dir):
    bearing.status = 500
    integration = configure(url=bearing.url, breaker_cooldown=0.5)
    build(Step(n=2, out_dir=out_dir))
    assert integration.sender.failed == 1 and integration.sender.skipped == 3
    bearing.status = 200
    time.sleep(0.6)
    build(Step(n=4, out_dir=out_dir))
    assert integration.sender.sent == 4  # Step 3 and 4, START and COMPLETE
    assert [e["job"]["name"] for e in bearing.events if e["eventType"] == "COMPLETE"][-2:] == ["Step", "Step"]


def test_503_retry_after_is_honoured_by_the_breaker_not_by_sleeping(bearing, configure, out_dir):
    bearing.status = 503
    bearing.headers = {"Retry-After": "120"}
    integration = configure(url=bearing.url, breaker_cooldown=1, retries=2)
    t0 = time.monotonic()
    build(Step(n=5, out_dir=out_dir))
    assert time.monotonic() - t0 < 10
    assert bearing.calls == 1  # no retry on 503, and nothing sent while the server asked to wait
    until = integration.store.breaker_open_until()
    assert 100 < until - time.time() <= 120


def test_unauthorised_opens_the_breaker_and_warns_once(bearing, configure, out_dir, caplog):
    bearing.status = 401
    bearing.body = b'{"message": "unknown token"}'
    configure(url=bearing.url, token="wrong")
    assert build(Step(n=3, out_dir=out_dir)) is True
    assert bearing.calls == 1
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "401" in warnings[0].getMessage()


def test_rejected_event_is_logged_with_the_problem_and_the_next_ones_still_go(bearing, configure, out_dir, caplog):
    bearing.status = 400
    bearing.body = b'{"pointer": "/run/runId", "message": "not a UUID", "hint": "send a UUID"}'
    integration = configure(url=bearing.url)
    assert build(Step(n=2, out_dir=out_dir)) is True
    assert bearing.calls == 4  # a bad event does not trip the breaker
    assert integration.sender.failed == 4
    warnings = _warnings(caplog)
    assert len(warnings) == 1  # rate-limited
    assert "/run/runId not a UUID send a UUID" in warnings[0].getMessage()


def test_breaker_is_shared_with_task_processes(configure, closed_port_url, out_dir):
    """The breaker lives in the state directory: an open one is seen by every process."""
    integration = configure(url=closed_port_url)
    integration.store.open_breaker(time.time() + 60)
    from bearing_luigi.sender import Sender
    from bearing_luigi.state import StateStore

    other = Sender(integration.settings, StateStore(integration.store.dir))
    assert other.breaker_is_open()
    assert other.send(object(), "x") is False and other.skipped == 1
