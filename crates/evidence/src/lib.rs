//! Bearing's evidence bundle for auditors (SOC 2): a zip that anyone can check with stock tools.
//!
//! The server streams rows from PostgreSQL into a [`BundleWriter`]; this crate decides what the
//! files look like and makes them verifiable. There is no database code here. A bundle holds:
//!
//! * CSV files ([`BundleWriter::csv`]): `populations/*.csv`, `changes/*.csv`, `exceptions.csv`,
//!   `samples/<population>.csv`, `controls.csv` ([`write_controls`]); RFC 4180, UTF-8, with
//!   spreadsheet formulas neutralised ([`neutralise_cell`]).
//! * `_meta/populations.json` and `report.html` ([`BundleWriter::file`]).
//! * The audit log of the period ([`write_audit`]): `audit/audit_log.jsonl` ([`AuditLogLine`]),
//!   `audit/checkpoints.jsonl` ([`CheckpointLine`]) and the checker `audit/verify_chain.py`.
//! * Written by [`BundleWriter::finish`]: `SHA256SUMS`, `SHA256SUMS.sig` (Ed25519, the audit
//!   checkpoint key), `signing-key.pub.pem` and `VERIFY.md`.
//!
//! The auditor runs exactly `sha256sum -c SHA256SUMS`,
//! `openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`
//! and `python3 audit/verify_chain.py`; `VERIFY.md` says what each proves and what it does not.
//! Samples are drawn by a published rule ([`sample`]) that the auditor can redraw
//! ([`SAMPLE_REDRAW_PY`]).
//!
//! Nothing is held in memory beyond one row and one SHA-256 state at a time, plus one digest per
//! file: the bundle streams to a non-seekable sink such as an HTTP response body.

mod audit_lines;
mod bundle;
mod controls;
mod error;
mod info;
mod path;
mod sample;
mod table;
mod verify_md;

pub use audit_lines::{
    write_audit, write_checkpoints_and_checker, AuditLogLine, CheckpointLine, AUDIT_LOG_PATH, CHECKPOINTS_PATH,
    VERIFY_CHAIN_PATH, VERIFY_CHAIN_PY,
};
pub use bundle::{BundleWriter, EntryWriter, PUBLIC_KEY, SHA256SUMS, SHA256SUMS_SIG, VERIFY_MD};
pub use controls::{write_controls, Control, CONTROLS, CONTROLS_HEADER, CONTROLS_PATH};
pub use error::EvidenceError;
pub use info::{BundleInfo, SampleInfo, SamplingInfo};
pub use path::check_path;
pub use sample::{rank, sample, Sampled, Sampler, SAMPLE_REDRAW_PY};
pub use table::{neutralise_cell, CsvWriter};
