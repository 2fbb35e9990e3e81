"""The pipeline through the real `luigi` command (and `luigi-bearing`), in a subprocess, configured
by luigi.cfg or the environment; task processes (--workers 2, worker_timeout) included."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import facet, run_cli, run_ids


def _cfg(tmp_path: Path, body: str) -> dict[str, str]:
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text("[core]\nautoload_range = false\n\n" + body)
    return {"LUIGI_CONFIG_PATH": str(cfg)}


def test_cli_with_luigi_cfg_exits_with_luigis_code_and_reports(bearing, tmp_path, out_dir):
    env = _cfg(
        tmp_path,
        f"[bearing]\nurl = {bearing.url}\ntoken = cfg-token\nnamespace = nightly\ntimeout = 2\n",
    )
    r = run_cli(
        ["--module", "pipeline", "Load", "--local-scheduler", "--retcode-task-failed", "3", "--Load-out-dir", out_dir],
        env,
        cwd=str(tmp_path),
    )
    assert r.returncode == 3, r.stderr[-2000:]
    assert bearing.types("Extract") == ["START", "COMPLETE"]
    assert bearing.types("Transform") == ["START", "FAIL"]
    assert bearing.types("Load") == []
    assert {e["job"]["namespace"] for e in bearing.events} == {"nightly"}
    assert {r["headers"]["Authorization"] for r in bearing.requests} == {"Bearer cfg-token"}
    assert "ValueError: cannot transform" in facet(bearing.of("Transform")[1], "errorMessage")["message"]
    # Parameters given on the command line are filtered the same way.
    assert out_dir.encode() not in b"".join(r["raw"] for r in bearing.requests)


def test_environment_overrides_luigi_cfg(bearing, tmp_path, out_dir):
    env = _cfg(tmp_path, "[bearing]\nurl = http://127.0.0.1:9\ntoken = cfg-token\n")
    env.update({"BEARING_URL": bearing.url, "BEARING_TOKEN": "env-token", "PIPELINE_FAIL": "0"})
    r = run_cli(["--module", "pipeline", "Load", "--local-scheduler", "--Load-out-dir", out_dir], env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(bearing.events) == 6
    assert {r["headers"]["Authorization"] for r in bearing.requests} == {"Bearer env-token"}


def test_openlineage_variables_are_fallbacks(bearing, tmp_path, out_dir):
    env = _cfg(tmp_path, "")
    env.update({"OPENLINEAGE_URL": bearing.url, "OPENLINEAGE_API_KEY": "ol-key", "PIPELINE_FAIL": "0"})
    r = run_cli(["--module", "pipeline", "Load", "--local-scheduler", "--Load-out-dir", out_dir], env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(bearing.events) == 6
    assert {r["headers"]["Authorization"] for r in bearing.requests} == {"Bearer ol-key"}


def test_disabled_sends_nothing(bearing, tmp_path, out_dir):
    env = _cfg(tmp_path, f"[bearing]\nurl = {bearing.url}\nenabled = false\n")
    r = run_cli(["--module", "pipeline", "Load", "--local-scheduler", "--Load-out-dir", out_dir], env, cwd=str(tmp_path))
    assert r.returncode == 0
    assert bearing.calls == 0


def test_task_processes_pair_start_and_outcome(bearing, tmp_path, out_dir):
    """With --workers 2 every task runs in a child process: START and FAIL still share a run id, and
    the upstream names the run a sibling process started."""
    env = _cfg(tmp_path, f"[bearing]\nurl = {bearing.url}\n")
    r = run_cli(
        ["--module", "pipeline", "Load", "--local-scheduler", "--workers", "2", "--retcode-task-failed", "3", "--Load-out-dir", out_dir],
        env,
        cwd=str(tmp_path),
    )
    assert r.returncode == 3, r.stderr[-2000:]
    extract, transform = bearing.of("Extract"), bearing.of("Transform")
    assert [e["eventType"] for e in extract] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in transform] == ["START", "FAIL"]
    assert len(run_ids(extract)) == 1 and len(run_ids(transform)) == 1
    assert facet(transform[1], "jobDependencies")["upstream"][0]["run"]["runId"] == extract[0]["run"]["runId"]
    assert facet(extract[0], "parent")["run"]["runId"] == transform[0]["run"]["runId"]


def test_timeout_and_process_failure_end_the_run_their_process_started(bearing, tmp_path, out_dir):
    """`luigi-bearing` registers the handlers for a module that does not import bearing_luigi. The
    worker kills Sleeper at its worker_timeout (TIMEOUT) and sees Crasher's process die
    (PROCESS_FAILURE); both are reported as FAIL on the run their task process started."""
    env = _cfg(tmp_path, f"[bearing]\nurl = {bearing.url}\n\n[worker]\nforce_multiprocessing = true\n")
    luigi_bearing = "luigi-bearing"
    t0 = time.monotonic()
    r = run_cli(
        ["--module", "plain_tasks", "Both", "--local-scheduler", "--workers", "2", "--retcode-task-failed", "3", "--Both-out-dir", out_dir],
        env,
        cwd=str(tmp_path),
        program=luigi_bearing,
    )
    assert time.monotonic() - t0 < 60
    assert r.returncode == 3, r.stderr[-3000:]

    sleeper, crasher = bearing.of("Sleeper"), bearing.of("Crasher")
    assert [e["eventType"] for e in sleeper] == ["START", "FAIL"]
    assert [e["eventType"] for e in crasher] == ["START", "FAIL"]
    assert len(run_ids(sleeper)) == 1 and len(run_ids(crasher)) == 1
    assert "timed out after 1 seconds" in facet(sleeper[1], "errorMessage")["message"]
    assert "died unexpectedly with exit code 7" in facet(crasher[1], "errorMessage")["message"]
    assert facet(sleeper[1], "parent")["job"]["name"] == "Both"
    # (Luigi may fire PROCESS_FAILURE on several passes of its loop for one death: one FAIL is sent.)
