//! Bearing's scorecards, without the database, the mesh or the clock.
//!
//! A scorecard says what "good" looks like for a kind of component, in levels (Bronze, Silver,
//! Gold) of checks on what the catalog declares, what the mesh does and how the component is
//! delivered. The server stores results and history and draws the pages; the rules live here so
//! that the worker, the pages, the JSON API and the tests all get the same answers:
//!
//! - [`card`]: the YAML format, read and validated like policy templates ([`card::load_dir`]).
//! - [`evaluate()`]: one card against the [`Facts`] the server gathered for one component, giving
//!   pass, fail or unknown per check with a reason, the level reached and a score.
//! - [`roll_up()`]: level counts and pass rates over many results (a team, a system, everyone).
//! - [`trend()`]: whether a component's daily history went up, down or stayed flat.
//!
//! Time is always passed in (`now`, `today`), so evaluation is repeatable and testable.

#![deny(missing_docs)]

pub mod card;
mod evaluate;
mod roll_up;
mod trend;

pub use card::{Check, Level, Rule, Scorecard};
pub use evaluate::{
    evaluate, CardResult, CheckResult, DeliveryFacts, Deployment, Facts, MeshFacts, Run, Status,
    CHANGE_FAILURE_WINDOW_DAYS,
};
pub use roll_up::{roll_up, CardRollUp, CheckRate, LevelCount, RollUp};
pub use trend::{trend, Direction, Trend};

/// Why a scorecard could not be loaded. The server refuses to start on either: a card that does
/// not load would otherwise silently score nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scorecard file or directory is unusable: where, what is wrong and how to fix it.
    #[error("{file}{}: {message}", at.map(|p| format!(":{}:{}", p.line, p.column)).unwrap_or_default())]
    Scorecard {
        /// The file (or directory) concerned.
        file: String,
        /// Where in the file, when the problem has a place.
        at: Option<bearing_policy::yaml::Position>,
        /// What is wrong, naming the field, and the fix.
        message: String,
    },
    /// Reading the scorecard directory failed.
    #[error("reading scorecards at {path}: {source}")]
    Io {
        /// The path being read.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
