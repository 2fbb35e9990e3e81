//! Runs: OpenLineage job runs and CDEvents pipeline and task runs, and the forward-only order
//! of their states.

use super::{EventMeta, QualifiedName};
use time::OffsetDateTime;

/// Run states, ordered: queued < started < running < terminal. See [`RunState::can_follow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunState {
    /// CDEvents `pipelinerun.queued`.
    Queued,
    /// OpenLineage `START`; CDEvents `pipelinerun.started`, `taskrun.started`.
    Started,
    /// OpenLineage `RUNNING`.
    Running,
    /// OpenLineage `COMPLETE`; CDEvents `*.finished` with outcome `success` (or none and no
    /// errors).
    Complete,
    /// OpenLineage `FAIL`; CDEvents `*.finished` with outcome `failure`, `error`, or another
    /// value, or with `errors` and no outcome.
    Fail,
    /// OpenLineage `ABORT`; CDEvents outcome `cancel`.
    Abort,
    /// Never sent by a producer: the server's verdict on a run that stopped reporting. Unlike
    /// the other terminal states, a late real outcome may still replace it.
    Lost,
}

impl RunState {
    /// Whether this is an end state.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Complete | Self::Fail | Self::Abort | Self::Lost)
    }

    /// Position in the forward-only order; all terminal states share the last.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Started => 1,
            Self::Running => 2,
            Self::Complete | Self::Fail | Self::Abort | Self::Lost => 3,
        }
    }

    /// Whether a run projected as `prev` should move to `self`. Events arrive out of order
    /// and twice, so a run only moves forward: a repeat of a non-terminal state is accepted (a
    /// second `RUNNING` carries new metadata), nothing follows a terminal state except that
    /// [`RunState::Lost`] may be followed by the real outcome, and no state overwrites itself
    /// once terminal.
    pub fn can_follow(self, prev: RunState) -> bool {
        if prev == Self::Lost {
            return self.is_terminal() && self != Self::Lost;
        }
        if prev.is_terminal() {
            return false;
        }
        self.rank() >= prev.rank()
    }
}

/// Which kind of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// An OpenLineage job run.
    Job,
    /// A CDEvents pipeline run.
    PipelineRun,
    /// A CDEvents task run.
    TaskRun,
}

/// Another run, named by a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRef {
    /// OpenLineage `run.runId`; CDEvents `pipelineRun.id`.
    pub run_id: String,
    /// OpenLineage `job` (namespace and name); none for CDEvents.
    pub job: Option<QualifiedName>,
    /// CDEvents `pipelineRun.source`.
    pub source: Option<String>,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RunError {
    /// OpenLineage `errorMessage.message`; CDEvents `errors` (cut to
    /// [`crate::limits::MAX_MESSAGE_CHARS`]).
    pub message: Option<String>,
    /// OpenLineage `errorMessage.stackTrace` (cut to
    /// [`crate::limits::MAX_STACK_TRACE_CHARS`]).
    pub stack_trace: Option<String>,
    /// OpenLineage `errorMessage.programmingLanguage`.
    pub language: Option<String>,
    /// CDEvents `outcome` as sent.
    pub outcome: Option<String>,
}

/// OpenLineage `nominalTime`: the schedule slot a run is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NominalTime {
    /// `nominalStartTime`.
    pub start: OffsetDateTime,
    /// `nominalEndTime`.
    pub end: Option<OffsetDateTime>,
}

/// One job another depends on, or that depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobDependency {
    /// The other job.
    pub job: QualifiedName,
    /// Its run, when known.
    pub run_id: Option<String>,
}

/// OpenLineage `jobDependencies`: control flow between jobs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JobDependencies {
    /// Jobs that must finish before this run starts (kept up to
    /// [`crate::limits::MAX_JOB_DEPENDENCIES`]).
    pub upstream: Vec<JobDependency>,
    /// Jobs that start after this run (same bound).
    pub downstream: Vec<JobDependency>,
    /// `trigger_rule` (`ALL_SUCCESS`, …).
    pub trigger_rule: Option<String>,
}

/// A run event.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEvent {
    /// Key, time, origin, raw JSON.
    pub meta: EventMeta,
    /// Job run, pipeline run or task run.
    pub kind: RunKind,
    /// OpenLineage `run.runId`; CDEvents `subject.id`.
    pub run_id: String,
    /// The job, which maps to a catalog component: OpenLineage `job.namespace`/`job.name`;
    /// CDEvents `subject.source` (else `context.source`) and `pipelineName`/`taskName` (else
    /// `subject.id`).
    pub job: QualifiedName,
    /// The state moved to; `None` for OpenLineage `OTHER` (metadata only, or no `eventType`).
    pub state: Option<RunState>,
    /// OpenLineage `parent` facet; CDEvents task run's `pipelineRun`.
    pub parent: Option<RunRef>,
    /// OpenLineage `parent.root`: the outermost run (an Airflow DAG run).
    pub root: Option<RunRef>,
    /// OpenLineage `errorMessage`; CDEvents `outcome`/`errors` of a run that did not succeed.
    pub error: Option<RunError>,
    /// OpenLineage `nominalTime`.
    pub nominal_time: Option<NominalTime>,
    /// OpenLineage `jobDependencies`.
    pub job_dependencies: JobDependencies,
    /// OpenLineage `inputs` (kept up to [`crate::limits::MAX_DATASETS`]).
    pub inputs: Vec<QualifiedName>,
    /// OpenLineage `outputs` (same bound).
    pub outputs: Vec<QualifiedName>,
    /// The names of the run facets sent (kept up to [`crate::limits::MAX_LINKS`]).
    pub facets: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::RunState::*;

    #[test]
    fn runs_only_move_forward() {
        assert!(Started.can_follow(Queued));
        assert!(Running.can_follow(Started));
        assert!(Running.can_follow(Running));
        assert!(Complete.can_follow(Running));
        assert!(Fail.can_follow(Queued));
        assert!(!Started.can_follow(Running));
        assert!(!Queued.can_follow(Started));
        for terminal in [Complete, Fail, Abort] {
            for next in [Queued, Started, Running, Complete, Fail, Abort, Lost] {
                assert!(!next.can_follow(terminal), "{next:?} after {terminal:?}");
            }
        }
        assert!(Complete.can_follow(Lost));
        assert!(Fail.can_follow(Lost));
        assert!(!Lost.can_follow(Lost));
        assert!(!Running.can_follow(Lost));
    }
}
