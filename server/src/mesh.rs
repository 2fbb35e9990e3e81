//! Live mesh state from a Kuma control plane (issue 4): [`client`] reads Kuma's API,
//! [`service`] turns responses into rows with `bearing_kuma::status`, [`repo`] holds the SQL, and
//! [`poller`] is the background worker (lease, poll cycle, stats, backoff).

pub mod client;
pub mod poller;
pub mod repo;
pub mod service;
