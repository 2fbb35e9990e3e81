"""Luigi tasks that know nothing of Bearing (no `import bearing_luigi`): run with `luigi-bearing`."""

import os
import time

import luigi


class Sleeper(luigi.Task):
    """Outlives its worker_timeout: the worker kills it and fires TIMEOUT."""

    worker_timeout = 1
    out_dir = luigi.Parameter(significant=False)

    def output(self):
        return luigi.LocalTarget(f"{self.out_dir}/sleeper")

    def run(self):
        time.sleep(30)


class Crasher(luigi.Task):
    """Its process dies under it: the worker fires PROCESS_FAILURE."""

    out_dir = luigi.Parameter(significant=False)

    def output(self):
        return luigi.LocalTarget(f"{self.out_dir}/crasher")

    def run(self):
        os._exit(7)


class Both(luigi.WrapperTask):
    out_dir = luigi.Parameter(significant=False)

    def requires(self):
        return [Sleeper(out_dir=self.out_dir), Crasher(out_dir=self.out_dir)]
