"""The one facet of our own: `luigi`, a run facet naming the Luigi task behind the run.

Everything else sent is a standard OpenLineage facet from openlineage-python.
"""

from __future__ import annotations

from typing import Optional

import attr
from openlineage.client.generated.base import RunFacet

# Where this integration lives (Bearing's repository, declared in pyproject.toml and the workspace
# Cargo.toml); the producer URI of every event and the base of our facet's schema.
PROJECT_URL = "https://github.com/bearing-dev/bearing"
VERSION = "0.1.0"
PRODUCER = f"{PROJECT_URL}/tree/v{VERSION}/integrations/luigi"
LUIGI_FACET_SCHEMA = f"{PROJECT_URL}/blob/v{VERSION}/integrations/luigi/schema/LuigiRunFacet.json#/$defs/LuigiRunFacet"


@attr.define
class LuigiRunFacet(RunFacet):
    """Luigi's own identity for the run's task (the task_id is the same for every retry)."""

    taskId: str  # noqa: N815
    taskFamily: str  # noqa: N815
    taskModule: Optional[str] = attr.field(default=None)  # noqa: N815
    # Seconds Luigi measured for run() (PROCESSING_TIME); on COMPLETE events only.
    processingTimeSeconds: Optional[float] = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return LUIGI_FACET_SCHEMA
