"""Bearing's Luigi integration: OpenLineage run events for every Luigi task, sent to Bearing.

Importing this module registers the handlers (`install()`); settings are read when the first event
arrives, from `[bearing]` in luigi.cfg and `BEARING_*` environment variables (see config.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional

from .config import Settings
from .config import load as load_settings
from .facets import PRODUCER, VERSION
from .handlers import Integration
from .state import StateStore

__version__ = VERSION
__all__ = ["install", "uninstall", "current", "Settings", "Integration", "PRODUCER", "__version__"]

log = logging.getLogger("bearing_luigi")

_lock = threading.Lock()
_installed = False
_store: Optional[StateStore] = None
# None: settings not read yet; False: read, and nothing is to be sent.
_integration: "Integration | bool | None" = None

_EVENTS = {
    "DEPENDENCY_DISCOVERED": "on_dependency_discovered",
    "START": "on_start",
    "PROCESSING_TIME": "on_processing_time",
    "SUCCESS": "on_success",
    "FAILURE": "on_failure",
    "BROKEN_TASK": "on_broken_task",
    "TIMEOUT": "on_timeout",
    "PROCESS_FAILURE": "on_process_failure",
}
_callbacks: dict[str, Any] = {}


def current() -> Optional[Integration]:
    """The active integration, reading the settings on first use; None when disabled."""
    global _integration
    if _integration is None:
        with _lock:
            if _integration is None:
                _integration = _configure(load_settings())
    return _integration or None


def _configure(settings: Settings) -> "Integration | bool":
    if not settings.enabled:
        log.info("bearing_luigi: disabled ([bearing] enabled = false)")
        return False
    if not settings.url:
        log.info("bearing_luigi: no Bearing URL ([bearing] url or BEARING_URL); no events are sent")
        return False
    store = _store or StateStore.for_this_process()
    log.info("bearing_luigi: sending OpenLineage events to Bearing (%s)", settings.describe())
    return Integration(settings, store)


def _dispatcher(method: str) -> Any:
    def callback(*args: Any) -> None:
        try:
            integration = current()
            if integration is not None:
                getattr(integration, method)(*args)
        except Exception as exc:  # never out of a handler
            log.debug("bearing_luigi: %s failed: %r", method, exc)

    callback.__name__ = f"bearing_{method}"
    return callback


def install(settings: Optional[Settings] = None, state_dir: Optional[str] = None) -> Optional[Integration]:
    """Registers the handlers on luigi.Task (once). With `settings`, uses them instead of reading
    luigi.cfg and the environment, replacing any integration already set up (for tests and for
    programmatic use); `state_dir` replaces the state directory shared with task processes.
    Returns the active integration with `settings`, else None (settings are read lazily)."""
    global _installed, _store, _integration
    import luigi

    with _lock:
        if state_dir is not None:
            _store = StateStore(state_dir)
        if _store is None:
            # Made now, in the worker, so that task processes forked or spawned later share it.
            _store = StateStore.for_this_process()
        if not _installed:
            for event_name, method in _EVENTS.items():
                cb = _dispatcher(method)
                _callbacks[event_name] = cb
                luigi.Task.event_handler(getattr(luigi.Event, event_name))(cb)
            _installed = True
        if settings is not None:
            _integration = _configure(settings)
    return current() if settings is not None else None


def uninstall() -> None:
    """Removes the handlers; the next `install()` starts afresh."""
    global _installed, _integration
    import luigi

    with _lock:
        for event_name, cb in _callbacks.items():
            try:
                luigi.Task.remove_event_handler(getattr(luigi.Event, event_name), cb)
            except (KeyError, ValueError):
                pass
        _callbacks.clear()
        _installed = False
        _integration = None


def reset() -> None:
    """Forgets the settings read so far: the next event reads luigi.cfg and the environment again."""
    global _integration
    with _lock:
        _integration = None


try:
    install()
except Exception as _exc:  # importing must never break a pipeline
    log.warning("bearing_luigi: could not register the Luigi handlers: %r", _exc)
