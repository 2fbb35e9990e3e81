//! Live mesh state from Kuma control planes (issue 4): [`client`] reads Kuma's API,
//! [`snapshot`] turns responses into rows with `bearing_kuma::status`, and [`poller`] is the
//! background worker (lease, poll cycle, stats, backoff); [`labels`] bounds the dataplane labels
//! a control plane sends; [`writer`] writes policies and [`policy_follow`] re-applies or marks
//! them after imports (`--kuma-policy-mode`). The SQL and the read side live with the mesh domain in `app::mesh`.

pub mod client;
pub mod labels;
pub mod policy_follow;
pub mod poller;
pub mod snapshot;
pub mod writer;
