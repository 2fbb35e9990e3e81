"""Example: a three-task Luigi pipeline, Extract -> Transform -> Load, that reports to Bearing.

    pip install ./integrations/luigi
    export BEARING_URL=http://127.0.0.1:3000 BEARING_TOKEN=...      # or [bearing] in luigi.cfg
    PYTHONPATH=integrations/luigi/examples \
      luigi --module pipeline Load --local-scheduler --retcode-task-failed 3

Transform fails on purpose while `PIPELINE_FAIL` is 1 (the default) or `--Transform-fail`
is given, so Bearing shows a failed task, its error and its upstream; Load then never starts.
Run with PIPELINE_FAIL=0 for a green run. Outputs go to PIPELINE_OUT (default: a directory
under the system's temporary directory, per day).

Parameters, to show what is (not) sent: `day` and `fail` are significant and public (sent as
executionParameters); `note` is insignificant, `password` private and `batch_hint` hidden: none
of the three ever leaves the process.
"""

from __future__ import annotations

import datetime
import os
import tempfile

import luigi
from luigi.parameter import ParameterVisibility

import bearing_luigi  # noqa: F401 - registers the OpenLineage handlers

def _default_out() -> str:
    return os.environ.get("PIPELINE_OUT") or os.path.join(tempfile.gettempdir(), "bearing-luigi-example")


class PipelineTask(luigi.Task):
    day = luigi.DateParameter(default=datetime.date(2026, 1, 1), description="Day of data to process")
    out_dir = luigi.Parameter(default=_default_out(), significant=False, description="Where outputs go")
    note = luigi.Parameter(default="", significant=False, description="Free text, not part of the task's identity")
    password = luigi.Parameter(default="hunter2", visibility=ParameterVisibility.PRIVATE)
    batch_hint = luigi.Parameter(default="small", visibility=ParameterVisibility.HIDDEN)

    def output(self):
        return luigi.LocalTarget(os.path.join(self.out_dir, f"{self.get_task_family()}-{self.day}.txt"))


class Extract(PipelineTask):
    """Reads the day's raw records."""

    def run(self):
        with self.output().open("w") as f:
            f.write("id,amount\n1,10\n2,32\n")


class Transform(PipelineTask):
    """Sums the amounts; fails on purpose unless asked not to."""

    fail = luigi.BoolParameter(
        default=os.environ.get("PIPELINE_FAIL", "1") not in ("0", "false", "no"),
        parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        description="Fail on purpose (for the demo)",
    )

    def requires(self):
        return Extract(day=self.day, out_dir=self.out_dir, note=self.note, password=self.password, batch_hint=self.batch_hint)

    def run(self):
        with self.input().open() as f:
            rows = f.read().splitlines()[1:]
        if self.fail:
            raise ValueError(f"cannot transform {len(rows)} rows for {self.day}: amount column is not a decimal")
        total = sum(int(r.split(",")[1]) for r in rows)
        with self.output().open("w") as f:
            f.write(f"{total}\n")


class Load(PipelineTask):
    """Loads the total into the warehouse."""

    fail = luigi.BoolParameter(
        default=os.environ.get("PIPELINE_FAIL", "1") not in ("0", "false", "no"),
        parsing=luigi.BoolParameter.EXPLICIT_PARSING,
        significant=False,
    )

    def requires(self):
        return Transform(
            day=self.day, out_dir=self.out_dir, note=self.note, password=self.password, batch_hint=self.batch_hint, fail=self.fail
        )

    def run(self):
        with self.input().open() as f, self.output().open("w") as out:
            out.write(f.read())

