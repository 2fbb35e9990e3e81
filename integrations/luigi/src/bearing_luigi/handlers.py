"""Luigi events -> OpenLineage run events.

| Luigi event            | fired in          | sent                                                       |
|------------------------|-------------------|------------------------------------------------------------|
| DEPENDENCY_DISCOVERED  | worker (schedule) | nothing; records the edge, reserves the requirer's run id  |
| START                  | task process      | START (fresh run id, or the one reserved for it; the same  |
|                        |                   | run again when run() resumes after dynamic dependencies)   |
| PROCESSING_TIME        | task process      | nothing; its seconds go on the COMPLETE event              |
| SUCCESS                | task process      | COMPLETE (same run id as START)                            |
| FAILURE                | task process      | FAIL with errorMessage (exception, traceback)              |
| BROKEN_TASK            | worker (schedule) | FAIL with errorMessage, fresh run id (the task never ran)  |
| TIMEOUT                | worker            | FAIL with errorMessage, the run id the child started with  |
| PROCESS_FAILURE        | worker            | FAIL with errorMessage, the run id the child started with  |

Every handler is wrapped so that nothing escapes it (Luigi would only log it, but a handler that
raises also skips the rest of our bookkeeping).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import luigi
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.generated import (
    error_message_run,
    execution_parameters_run,
    job_dependencies_run,
    job_type_job,
    parent_run,
    processing_engine_run,
)

from .config import Settings
from .facets import PRODUCER, VERSION, LuigiRunFacet
from .sender import Sender
from .state import StateStore

try:
    from openlineage.client.uuid import generate_new_uuid as _uuid7

    def new_run_id() -> str:
        return str(_uuid7())

except ImportError:  # older clients
    import uuid

    def new_run_id() -> str:
        return str(uuid.uuid4())


log = logging.getLogger("bearing_luigi")

MAX_MESSAGE = 4_000
MAX_STACK = 60_000
MAX_PARENT_DEPTH = 1_000

# Status of each execution, kept in the state store.
RUNNING, COMPLETE, FAILED, LOST = "running", "complete", "failed", "lost"
LOST_DEDUP_SECONDS = 30.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _truncate_head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 15] + " ...(truncated)"


def _truncate_tail(text: str, limit: int) -> str:
    # The end of a traceback names the line that raised: keep it.
    return text if len(text) <= limit else "(truncated)...\n" + text[-(limit - 16) :]


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(self: "Integration", *args: Any) -> None:
        try:
            fn(self, *args)
        except Exception as exc:  # never out of a handler
            self.sender.warnings.warn("internal", "%s handler failed: %r", fn.__name__, exc)

    return wrapper


def public_params(task: luigi.Task) -> list[execution_parameters_run.ExecutionParameter]:
    """Significant, public parameters only (Luigi's own filter, as used for the task id)."""
    descriptions = {name: p.description for name, p in task.get_params()}
    values = task.to_str_params(only_significant=True, only_public=True)
    return [
        execution_parameters_run.ExecutionParameter(
            key=name,
            value=_truncate_head(str(value), MAX_MESSAGE),
            description=descriptions.get(name) or None,
        )
        for name, value in sorted(values.items())
    ]


class Integration:
    def __init__(self, settings: Settings, store: StateStore, sender: Optional[Sender] = None) -> None:
        self.settings = settings
        self.store = store
        self.sender = sender or Sender(settings, store)
        self.namespace = settings.namespace
        self._processing_time: dict[str, float] = {}
        self._lock = threading.Lock()
        # The worker schedules in one thread; this guards the read-modify-write of graph files.
        self._graph_lock = threading.Lock()

    # -- Luigi handlers ------------------------------------------------------------------------

    @guarded
    def on_dependency_discovered(self, task: luigi.Task, dep: luigi.Task) -> None:
        tid, did = task.task_id, dep.task_id
        with self._graph_lock:
            g = self.store.graph(tid)
            g["family"] = task.get_task_family()
            upstream = g.setdefault("upstream", [])
            if did not in upstream:
                upstream.append(did)
            self.store.put_graph(tid, g)

            d = self.store.graph(did)
            d["family"] = dep.get_task_family()
            downstream = d.setdefault("downstream", [])
            if tid not in downstream:
                downstream.append(tid)
            # The parent is the first task found requiring this one: the run Luigi runs it for.
            d.setdefault("parent", tid)
            self.store.put_graph(did, d)
        # The requirer's next execution gets its run id now, so that its dependencies can name it.
        if not self.store.get(tid, "next"):
            self.store.put(tid, "next", new_run_id())

    @guarded
    def on_start(self, task: luigi.Task) -> None:
        tid = task.task_id
        run_id = None
        if self.store.get(tid, "state") == RUNNING:
            # Still running: its run() yielded dependencies that were not complete, Luigi ran them
            # and now calls run() again. The same execution goes on: the same run.
            run_id = self.store.get(tid, "run")
        if not run_id:
            run_id = self.store.get(tid, "next") or new_run_id()
            self.store.drop(tid, "next")
        self.store.put(tid, "run", run_id)
        self.store.put(tid, "state", RUNNING)
        with self._lock:
            self._processing_time.pop(tid, None)
        self._emit(RunState.START, task, run_id)

    @guarded
    def on_processing_time(self, task: luigi.Task, seconds: float) -> None:
        with self._lock:
            self._processing_time[task.task_id] = float(seconds)

    @guarded
    def on_success(self, task: luigi.Task) -> None:
        run_id = self._current_run(task.task_id)
        self.store.put(task.task_id, "state", COMPLETE)
        with self._lock:
            seconds = self._processing_time.pop(task.task_id, None)
        self._emit(RunState.COMPLETE, task, run_id, processing_time=seconds)

    @guarded
    def on_failure(self, task: luigi.Task, exc: BaseException) -> None:
        run_id = self._current_run(task.task_id)
        self.store.put(task.task_id, "state", FAILED)
        self._emit(RunState.FAIL, task, run_id, error=_error_facet(exc))

    @guarded
    def on_broken_task(self, task: luigi.Task, exc: BaseException) -> None:
        # Its requires() or complete() raised while scheduling: the task never ran, so a run of its
        # own that fails at once.
        run_id = new_run_id()
        self.store.put(task.task_id, "run", run_id)
        self.store.put(task.task_id, "state", FAILED)
        self._emit(RunState.FAIL, task, run_id, error=_error_facet(exc))

    @guarded
    def on_timeout(self, task: luigi.Task, message: str) -> None:
        self._lost_child(task, message)

    @guarded
    def on_process_failure(self, task: luigi.Task, message: str) -> None:
        self._lost_child(task, message)

    def _lost_child(self, task: luigi.Task, message: str) -> None:
        # The worker killed or lost the process running the task: that process announced the run
        # (START) through the state store; end the same run.
        tid = task.task_id
        state = self.store.get(tid, "state")
        if state == LOST and time.time() - _float(self.store.get(tid, "lost_at")) < LOST_DEDUP_SECONDS:
            # Luigi reports a dead task process on every pass of its loop until it has handled the
            # result (PROCESS_FAILURE twice, or TIMEOUT then PROCESS_FAILURE): one FAIL is enough.
            return
        run_id = self.store.get(tid, "run") if state == RUNNING else None
        run_id = run_id or new_run_id()
        self.store.put(tid, "run", run_id)
        self.store.put(tid, "state", LOST)
        self.store.put(tid, "lost_at", repr(time.time()))
        facet = error_message_run.ErrorMessageRunFacet(
            message=_truncate_head(str(message), MAX_MESSAGE),
            programmingLanguage="python",
            producer=PRODUCER,
        )
        self._emit(RunState.FAIL, task, run_id, error=facet)

    # -- building events -----------------------------------------------------------------------

    def _current_run(self, task_id: str) -> str:
        if self.store.get(task_id, "state") == RUNNING:
            run_id = self.store.get(task_id, "run")
            if run_id:
                return run_id
        # A terminal event without a START we saw (it should not happen): a run of its own.
        run_id = new_run_id()
        self.store.put(task_id, "run", run_id)
        return run_id

    def _run_id_of(self, task_id: str) -> Optional[str]:
        """The run a task is in, or the one reserved for its next execution."""
        if self.store.get(task_id, "state") == RUNNING:
            return self.store.get(task_id, "run")
        return self.store.get(task_id, "next") or self.store.get(task_id, "run")

    def _family_of(self, task_id: str) -> Optional[str]:
        return self.store.graph(task_id).get("family")

    def _parent_facet(self, task_id: str) -> Optional[parent_run.ParentRunFacet]:
        parent = self.store.graph(task_id).get("parent")
        if not parent:
            return None
        parent_run_id, parent_family = self._run_id_of(parent), self._family_of(parent)
        if not parent_run_id or not parent_family:
            return None
        # The root: the task at the top of the requiring chain (the one named on the command line).
        root, seen = parent, {task_id, parent}
        for _ in range(MAX_PARENT_DEPTH):
            up = self.store.graph(root).get("parent")
            if not up or up in seen:
                break
            seen.add(up)
            root = up
        root_run_id, root_family = self._run_id_of(root), self._family_of(root)
        root_facet = None
        if root_run_id and root_family:
            root_facet = parent_run.Root(
                run=parent_run.RootRun(runId=root_run_id),
                job=parent_run.RootJob(namespace=self.namespace, name=root_family),
            )
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_run_id),
            job=parent_run.Job(namespace=self.namespace, name=parent_family),
            root=root_facet,
            producer=PRODUCER,
        )

    def _dependencies_facet(self, task_id: str) -> Optional[job_dependencies_run.JobDependenciesRunFacet]:
        g = self.store.graph(task_id)

        def dependency(other: str, upstream: bool) -> Optional[job_dependencies_run.JobDependency]:
            family = self._family_of(other)
            if not family:
                return None
            # Upstream: its latest run in this invocation (none if it was complete already).
            # Downstream: the run it is in, or the one reserved for it.
            run_id = self.store.get(other, "run") if upstream else self._run_id_of(other)
            return job_dependencies_run.JobDependency(
                job=job_dependencies_run.JobIdentifier(namespace=self.namespace, name=family),
                run=job_dependencies_run.RunIdentifier(runId=run_id) if run_id else None,
                sequence_trigger_rule="FINISH_TO_START",
                status_trigger_rule="EXECUTE_ON_SUCCESS",
            )

        upstream = [d for d in (dependency(t, True) for t in g.get("upstream", [])) if d]
        downstream = [d for d in (dependency(t, False) for t in g.get("downstream", [])) if d]
        if not upstream and not downstream:
            return None
        return job_dependencies_run.JobDependenciesRunFacet(
            upstream=upstream,
            downstream=downstream,
            # Luigi runs a task once every task it requires is complete.
            trigger_rule="ALL_SUCCESS" if upstream else None,
            producer=PRODUCER,
        )

    def build_event(
        self,
        state: RunState,
        task: luigi.Task,
        run_id: str,
        error: Optional[error_message_run.ErrorMessageRunFacet] = None,
        processing_time: Optional[float] = None,
    ) -> RunEvent:
        tid = task.task_id
        run_facets: dict[str, Any] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=getattr(luigi, "__version__", "unknown"),
                name="Luigi",
                openlineageAdapterVersion=VERSION,
                producer=PRODUCER,
            ),
            "luigi": LuigiRunFacet(
                taskId=tid,
                taskFamily=task.get_task_family(),
                taskModule=getattr(task, "task_module", None) or None,
                processingTimeSeconds=processing_time,
                producer=PRODUCER,
            ),
        }
        params = public_params(task)
        if params:
            run_facets["executionParameters"] = execution_parameters_run.ExecutionParametersRunFacet(
                parameters=params, producer=PRODUCER
            )
        parent = self._parent_facet(tid)
        if parent:
            run_facets["parent"] = parent
        deps = self._dependencies_facet(tid)
        if deps:
            run_facets["jobDependencies"] = deps
        if error:
            run_facets["errorMessage"] = error
        job_facets: dict[str, Any] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="LUIGI", jobType="TASK", producer=PRODUCER
            )
        }
        return RunEvent(
            eventType=state,
            eventTime=_now(),
            run=Run(runId=run_id, facets=run_facets),
            job=Job(namespace=self.namespace, name=task.get_task_family(), facets=job_facets),
            producer=PRODUCER,
            inputs=[],
            outputs=[],
        )

    def _emit(self, state: RunState, task: luigi.Task, run_id: str, **kw: Any) -> None:
        event = self.build_event(state, task, run_id, **kw)
        self.sender.send(event, f"{state.value} {task.get_task_family()}")


def _float(value: Optional[str]) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _error_facet(exc: BaseException) -> error_message_run.ErrorMessageRunFacet:
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return error_message_run.ErrorMessageRunFacet(
        message=_truncate_head(message, MAX_MESSAGE),
        programmingLanguage="python",
        stackTrace=_truncate_tail(stack, MAX_STACK),
        producer=PRODUCER,
    )
