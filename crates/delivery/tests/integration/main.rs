//! Integration tests: golden events from the specifications' own repositories (see
//! `tests/golden/README.md`) must be accepted, and malformed or hostile ones refused with the
//! right pointer.

mod cdevents;
mod hostile;
mod lineage;
mod util;
