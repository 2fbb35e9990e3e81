"""`luigi-bearing`: the `luigi` command with Bearing's handlers registered first.

    luigi-bearing --module my_pipeline Load --local-scheduler

is `luigi --module my_pipeline Load --local-scheduler`, plus OpenLineage events to Bearing, for a
pipeline module that does not `import bearing_luigi` itself.
"""

from __future__ import annotations

import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> None:
    import bearing_luigi  # noqa: F401 - registers the handlers
    from luigi.cmdline import luigi_run

    luigi_run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
