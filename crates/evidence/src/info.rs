//! What `VERIFY.md` says about this particular bundle.

use bearing_audit::ChainHead;
use time::OffsetDateTime;

/// Facts about one export, given to [`BundleWriter::finish`](crate::BundleWriter::finish) for
/// `VERIFY.md`.
#[derive(Clone, Debug)]
pub struct BundleInfo {
    /// When the export ran.
    pub generated_at: OffsetDateTime,
    /// Start of the audited period (included).
    pub period_start: OffsetDateTime,
    /// End of the audited period (excluded).
    pub period_end: OffsetDateTime,
    /// Who asked for the export: a user name or token id, as the audit log records actors.
    pub requested_by: String,
    /// How the samples in `samples/` were drawn; `None` if the bundle has none.
    pub sampling: Option<SamplingInfo>,
}

/// The inputs of [`sample`](crate::sample), so an auditor can redraw every sample.
#[derive(Clone, Debug)]
pub struct SamplingInfo {
    /// The seed, ideally chosen by the auditor before the export.
    pub seed: String,
    /// The audit chain head mixed into every rank. Use the newest row of the exported audit log,
    /// whose `SEQ:HASH` `verify_chain.py` prints, so the auditor can check it came from the log.
    pub chain_head: ChainHead,
    /// One entry per sample file.
    pub samples: Vec<SampleInfo>,
}

/// One drawn sample.
#[derive(Clone, Debug)]
pub struct SampleInfo {
    /// The population name hashed into each rank, e.g. `entities`.
    pub population: String,
    /// The CSV holding the whole population, e.g. `populations/entities.csv`.
    pub population_file: String,
    /// The header of the column whose values are the keys that were ranked.
    pub key_column: String,
    /// How many keys were asked for (fewer are drawn when the population is smaller).
    pub size: usize,
    /// The CSV holding the sample, e.g. `samples/entities.csv`.
    pub sample_file: String,
}
