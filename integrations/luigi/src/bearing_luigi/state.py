"""What one Luigi invocation remembers about its tasks, shared by the worker and its task processes.

Luigi fires START, SUCCESS and FAILURE inside the process that runs the task: the worker itself,
or a child process when it runs with `--workers N>1`, `worker_timeout` or `force_multiprocessing`.
TIMEOUT and PROCESS_FAILURE fire in the worker, about a child it has lost, and DEPENDENCY_DISCOVERED
fires in the worker while it schedules. To pair those events (the FAIL for a timed-out task must carry
the run id its child announced at START) the state lives in a small directory, not in memory:

  <dir>/<key>.run     run id of the current (or last) execution of the task
  <dir>/<key>.state   running | complete | failed
  <dir>/<key>.next    run id reserved for the next execution (a dependency named it as its parent)
  <dir>/<key>.graph   JSON written by the worker: family, upstream and downstream task ids, parent
  <dir>/breaker       epoch seconds until which sends are skipped (shared circuit breaker)

<key> is a hash of Luigi's task_id. The directory is made by the first process that installs the
handlers, passed to children through the environment (BEARING_LUIGI_STATE_DIR, so it works with
fork and spawn alike) and removed when that process exits. Every write is atomic (write + rename).
All of it is best effort: an unreadable file reads as "unknown" and never raises.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from typing import Any, Optional

ENV_VAR = "BEARING_LUIGI_STATE_DIR"


def _key(task_id: str) -> str:
    return hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:32]


class StateStore:
    def __init__(self, directory: str) -> None:
        self.dir = directory

    @classmethod
    def for_this_process(cls) -> "StateStore":
        existing = os.environ.get(ENV_VAR)
        if existing and os.path.isdir(existing):
            return cls(existing)
        directory = tempfile.mkdtemp(prefix="bearing-luigi-")
        os.environ[ENV_VAR] = directory
        owner = os.getpid()

        def _cleanup() -> None:
            # Forked children inherit atexit handlers; only the creator removes the directory.
            if os.getpid() == owner:
                shutil.rmtree(directory, ignore_errors=True)
                if os.environ.get(ENV_VAR) == directory:
                    del os.environ[ENV_VAR]

        atexit.register(_cleanup)
        return cls(directory)

    # -- raw access ----------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, value: str) -> None:
        try:
            path = self._path(name)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(value)
            os.replace(tmp, path)
        except OSError:
            pass

    def read(self, name: str) -> Optional[str]:
        try:
            with open(self._path(name), encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    def remove(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except OSError:
            pass

    # -- per task ------------------------------------------------------------------------------

    def get(self, task_id: str, field: str) -> Optional[str]:
        return self.read(f"{_key(task_id)}.{field}")

    def put(self, task_id: str, field: str, value: str) -> None:
        self.write(f"{_key(task_id)}.{field}", value)

    def drop(self, task_id: str, field: str) -> None:
        self.remove(f"{_key(task_id)}.{field}")

    def graph(self, task_id: str) -> dict[str, Any]:
        raw = self.get(task_id, "graph")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
            return value if isinstance(value, dict) else {}
        except ValueError:
            return {}

    def put_graph(self, task_id: str, graph: dict[str, Any]) -> None:
        self.put(task_id, "graph", json.dumps(graph, sort_keys=True))

    # -- circuit breaker -----------------------------------------------------------------------

    def breaker_open_until(self) -> float:
        raw = self.read("breaker")
        try:
            return float(raw) if raw else 0.0
        except ValueError:
            return 0.0

    def open_breaker(self, until: float) -> None:
        self.write("breaker", repr(until))

    def close_breaker(self) -> None:
        self.remove("breaker")
