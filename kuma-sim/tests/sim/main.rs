//! `kuma-sim` driven in process (tower `oneshot` on the router, a manual clock): responses checked
//! against Kuma's OpenAPI spec and golden responses, parsed with `bearing-kuma`, and the world,
//! paging, stats, control endpoints and faults exercised.

mod common;
mod control;
mod faults;
mod paging;
mod scale;
mod spec;
mod stats;
mod world;
mod writes;
