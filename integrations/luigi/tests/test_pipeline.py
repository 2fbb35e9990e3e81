"""The three-task example pipeline (Extract -> Transform -> Load, Transform fails), run by real Luigi
in this process, against a capture server standing in for Bearing."""

from __future__ import annotations

import json

from conftest import build, facet, run_ids

import pipeline  # examples/pipeline.py


def _load(out_dir: str, **kw):
    return pipeline.Load(out_dir=out_dir, fail=kw.pop("fail", True), **kw)


def test_failed_pipeline_reports_the_failed_task_its_error_and_upstream(bearing, configure, out_dir):
    configure(url=bearing.url, token="producer-token")

    assert build(_load(out_dir)) is False  # Luigi's own verdict is untouched

    assert bearing.types("Extract") == ["START", "COMPLETE"]
    assert bearing.types("Transform") == ["START", "FAIL"]
    assert bearing.types("Load") == []  # its upstream failed: Luigi never starts it

    # One run per execution, START and its outcome share it.
    extract, transform = bearing.of("Extract"), bearing.of("Transform")
    assert len(run_ids(extract)) == 1 and len(run_ids(transform)) == 1
    assert run_ids(extract) != run_ids(transform)

    fail = transform[1]
    error = facet(fail, "errorMessage")
    assert error["message"].startswith("ValueError: cannot transform 2 rows for 2026-01-01")
    assert error["programmingLanguage"] == "python"
    assert error["stackTrace"].startswith("Traceback (most recent call last):")
    assert "pipeline.py" in error["stackTrace"] and "raise ValueError" in error["stackTrace"]
    assert error["_schemaURL"].startswith("https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json")
    assert facet(transform[0], "errorMessage") is None

    # Its upstream, with the very run that produced its input.
    deps = facet(fail, "jobDependencies")
    assert deps["upstream"] == [
        {
            "job": {"namespace": "luigi", "name": "Extract"},
            "run": {"runId": extract[0]["run"]["runId"]},
            "sequence_trigger_rule": "FINISH_TO_START",
            "status_trigger_rule": "EXECUTE_ON_SUCCESS",
        }
    ]
    assert deps["trigger_rule"] == "ALL_SUCCESS"
    assert deps["_schemaURL"].startswith("https://openlineage.io/spec/facets/1-0-1/JobDependenciesRunFacet.json")

    # Every request: one OpenLineage 2-0-2 RunEvent, to /api/v1/lineage, with the producer token.
    assert len(bearing.requests) == 4
    for req in bearing.requests:
        assert req["path"] == "/api/v1/lineage"
        assert req["headers"]["Authorization"] == "Bearer producer-token"
        assert req["headers"]["Content-Type"] == "application/json"
        event = req["json"]
        assert event["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        assert event["job"]["namespace"] == "luigi"
        assert event["producer"].endswith("/integrations/luigi")
        assert facet(event, "processing_engine")["name"] == "Luigi"
        assert event["job"]["facets"]["jobType"]["integration"] == "LUIGI"


def test_parent_is_the_requiring_task_and_root_the_requested_one(bearing, configure, out_dir):
    configure(url=bearing.url, token="t")
    build(_load(out_dir))
    extract, transform = bearing.of("Extract"), bearing.of("Transform")
    transform_run = transform[0]["run"]["runId"]

    # Extract ran because Transform required it: its parent is Transform's run (the one Transform
    # then started with), its root the run reserved for Load, the task asked for.
    parent = facet(extract[0], "parent")
    assert parent["job"] == {"namespace": "luigi", "name": "Transform", "facets": {}}
    assert parent["run"]["runId"] == transform_run
    assert parent["root"]["job"]["name"] == "Load"
    load_run = parent["root"]["run"]["runId"]

    tparent = facet(transform[0], "parent")
    assert tparent["job"]["name"] == "Load" and tparent["run"]["runId"] == load_run
    assert tparent["root"]["run"]["runId"] == load_run
    # Same facets on the terminal events.
    assert facet(extract[1], "parent") == parent and facet(transform[1], "parent") == tparent

    # Downstream: Extract's waits on Transform's run; Transform's on Load's reserved run.
    assert facet(extract[1], "jobDependencies")["downstream"][0]["run"]["runId"] == transform_run
    assert facet(transform[1], "jobDependencies")["downstream"][0]["job"]["name"] == "Load"
    assert facet(transform[1], "jobDependencies")["downstream"][0]["run"]["runId"] == load_run
    assert facet(extract[0], "jobDependencies")["upstream"] == []


def test_fresh_run_id_per_execution_though_luigi_task_id_repeats(bearing, configure, out_dir):
    configure(url=bearing.url)
    build(_load(out_dir))
    build(_load(out_dir))  # Extract is complete now; Transform runs (and fails) again

    transform = bearing.of("Transform")
    assert [e["eventType"] for e in transform] == ["START", "FAIL", "START", "FAIL"]
    first, second = transform[0]["run"]["runId"], transform[2]["run"]["runId"]
    assert first != second
    assert transform[1]["run"]["runId"] == first and transform[3]["run"]["runId"] == second
    assert facet(transform[0], "luigi")["taskId"] == facet(transform[2], "luigi")["taskId"]
    assert bearing.types("Extract") == ["START", "COMPLETE"]  # not run again
    # The second Transform names the Extract run of the first invocation as its upstream.
    assert facet(transform[2], "jobDependencies")["upstream"][0]["run"]["runId"] == bearing.of("Extract")[0]["run"]["runId"]
    # UUIDv7: version nibble 7.
    assert first[14] == "7" and second[14] == "7"


def test_only_public_significant_parameters_are_sent(bearing, configure, out_dir):
    configure(url=bearing.url)
    build(_load(out_dir, note="confidential-note", password="pa55w0rd-xyz", batch_hint="hidden-hint-xyz"))

    by_job = {}
    for e in bearing.events:
        by_job[e["job"]["name"]] = {p["key"]: p["value"] for p in facet(e, "executionParameters")["parameters"]}
    assert by_job["Extract"] == {"day": "2026-01-01"}
    assert by_job["Transform"] == {"day": "2026-01-01", "fail": "True"}
    raw = b"".join(r["raw"] for r in bearing.requests)
    for secret in (b"confidential-note", b"pa55w0rd-xyz", b"hidden-hint-xyz", out_dir.encode()):
        assert secret not in raw
    for name in (b'"note"', b'"password"', b'"batch_hint"', b'"out_dir"'):
        assert name not in raw


def test_green_pipeline_completes_every_task(bearing, configure, out_dir):
    configure(url=bearing.url, namespace="warehouse")
    assert build(_load(out_dir, fail=False)) is True
    assert [(e["job"]["name"], e["eventType"]) for e in bearing.events] == [
        ("Extract", "START"),
        ("Extract", "COMPLETE"),
        ("Transform", "START"),
        ("Transform", "COMPLETE"),
        ("Load", "START"),
        ("Load", "COMPLETE"),
    ]
    assert {e["job"]["namespace"] for e in bearing.events} == {"warehouse"}
    load = bearing.of("Load")
    # Load is the root: no parent; its run is the one its dependencies named.
    assert facet(load[0], "parent") is None
    assert facet(bearing.of("Extract")[0], "parent")["root"]["run"]["runId"] == load[0]["run"]["runId"]
    complete = bearing.of("Transform")[1]
    assert isinstance(facet(complete, "luigi")["processingTimeSeconds"], float)
    assert facet(bearing.of("Transform")[0], "luigi").get("processingTimeSeconds") is None


def test_broken_task_is_reported_as_a_failed_run(bearing, configure, out_dir):
    import luigi

    class BrokenRequires(luigi.Task):
        def requires(self):
            raise RuntimeError("requires() exploded")

        def output(self):
            return luigi.LocalTarget(out_dir + "/broken")

    configure(url=bearing.url)
    assert build(BrokenRequires()) is False
    events = bearing.of("BrokenRequires")
    assert [e["eventType"] for e in events] == ["FAIL"]
    error = facet(events[0], "errorMessage")
    assert error["message"] == "RuntimeError: requires() exploded"
    assert "requires() exploded" in error["stackTrace"]


def test_body_is_what_openlineage_python_serialises(bearing, configure, out_dir):
    """Each body is openlineage-python's Serde output for the event (sorted keys, nulls dropped), not
    hand-made JSON, and every event of a green run is stored."""
    integration = configure(url=bearing.url)
    build(_load(out_dir, fail=False))
    for req in bearing.requests:
        assert req["raw"].decode() == json.dumps(json.loads(req["raw"]), sort_keys=True)
        assert b"null" not in req["raw"]
    assert integration.sender.sent == 6 and integration.sender.failed == 0


def test_dynamic_dependencies_keep_the_yielding_task_in_one_run(bearing, configure, out_dir):
    import luigi
    from test_resilience import Step

    class Yielder(luigi.Task):
        def output(self):
            return luigi.LocalTarget(out_dir + "/yielder")

        def run(self):
            yield Step(n=1, out_dir=out_dir)
            with self.output().open("w") as f:
                f.write("done")

    configure(url=bearing.url)
    assert build(Yielder()) is True
    events = bearing.of("Yielder")
    assert [e["eventType"] for e in events] == ["START", "START", "COMPLETE"]
    assert len(run_ids(events)) == 1
    assert bearing.types("Step") == ["START", "COMPLETE"]
