//! What the fuzz targets check beyond "does not crash", shared so each target stays a few lines.
//!
//! libFuzzer already reports panics, stack overflows, timeouts and memory above the limit; the
//! checks here add the promises Bearing makes about a *handled* input: a refused catalog file says
//! where and why, an accepted one can be stored and read back, a Kuma response that parses is
//! judged by the status and permission rules without panicking, and what the types write back
//! (kuma-sim serves them) parses again.

#![deny(missing_docs)]

pub mod catalog;
pub mod kuma;
