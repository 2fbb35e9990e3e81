//! Live mesh state from Kuma control planes (issue 4): [`client`] reads Kuma's API,
//! [`snapshot`] turns responses into rows with `bearing_kuma::status`, and [`poller`] is the
//! background worker (lease, poll cycle, stats, backoff). The SQL and the read side live with the
//! mesh domain in `app::mesh`.

pub mod client;
pub mod poller;
pub mod snapshot;
pub mod writer;
