//! Per-client rate limits (governor's GCRA, keyed by client address) on what an anonymous
//! caller can make Bearing do: the sign-in routes (each `/auth/login` stores a session, each
//! callback may reach the provider and the audit log) and failed API-token authentications.
//!
//! The key is the TCP peer's address, with an IPv6 address cut to its /64 (one host usually
//! holds a whole /64). Behind a reverse proxy every client has the proxy's address: switch the
//! limits off there (`0`) and limit at the proxy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::AuthArgs;

type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// Forget idle clients every this many checks, so the tables stay as small as the set of
/// clients active within a minute.
const SWEEP_EVERY: u64 = 4096;

/// The limits of one server.
pub struct Limits {
    /// `/auth/*` requests per client.
    auth: Option<Keyed>,
    /// Failed token authentications per client.
    token_failures: Option<Keyed>,
    /// Clients past their token-failure limit, until when: every token request from them is
    /// refused before the lookup, so guessing gains nothing from the answers.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    checks: AtomicU64,
}

impl Default for Limits {
    /// The default flags' limits (60 `/auth/*` requests and 20 failed tokens a minute).
    fn default() -> Self {
        Limits::new(60, 20)
    }
}

impl Limits {
    /// Limits of `auth_per_minute` requests to `/auth/*` and `token_failures_per_minute` failed
    /// token authentications per client and minute; 0 switches either off.
    pub fn new(auth_per_minute: u32, token_failures_per_minute: u32) -> Limits {
        let keyed = |n: u32| NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Limits {
            auth: keyed(auth_per_minute),
            token_failures: keyed(token_failures_per_minute),
            blocked: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }

    /// The limits the flags ask for.
    pub fn from_args(args: &AuthArgs) -> Limits {
        Limits::new(args.auth_rate_limit, args.token_failure_limit)
    }

    /// Counts a request to `/auth/*` from `client`; `Err(wait)` when it is over the limit.
    pub fn check_auth(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        self.sweep();
        let Some(limiter) = &self.auth else { return Ok(()) };
        limiter
            .check_key(&client_key(client))
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    /// `Some(wait)` while `client` is refused token authentication for too many failures.
    pub fn token_blocked(&self, client: Option<IpAddr>) -> Option<Duration> {
        self.token_failures.as_ref()?;
        let key = client_key(client);
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(&key)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            blocked.remove(&key);
            None
        }
    }

    /// Counts a failed token authentication from `client`; `Some(wait)` when that one was over
    /// the limit (the client is then refused token authentication for `wait`).
    pub fn token_failed(&self, client: Option<IpAddr>) -> Option<Duration> {
        self.sweep();
        let limiter = self.token_failures.as_ref()?;
        let key = client_key(client);
        let not_until = limiter.check_key(&key).err()?;
        let wait = not_until
            .wait_time_from(limiter.clock().now())
            .max(Duration::from_secs(1));
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        blocked.insert(key, now + wait);
        Some(wait)
    }

    fn sweep(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for limiter in [&self.auth, &self.token_failures].into_iter().flatten() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}

/// The key a client is counted under: its IPv4 address, or its IPv6 /64. Requests without a
/// known peer (in-process tests) share one key.
pub fn client_key(client: Option<IpAddr>) -> IpAddr {
    match client {
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        Some(v4) => v4,
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// 429 with `Retry-After` (whole seconds, rounded up) and the API's error body.
pub fn too_many_requests(wait: Duration, detail: &str) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let body = serde_json::json!({ "errors": [{ "detail": format!("{detail}; try again in {secs} s") }] });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), client_key(ip("192.0.2.7")));
    }

    #[test]
    fn auth_requests_are_limited_per_client() {
        let limits = Limits::new(3, 0);
        for _ in 0..3 {
            assert!(limits.check_auth(ip("192.0.2.1")).is_ok());
        }
        let wait = limits.check_auth(ip("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(
            limits.check_auth(ip("192.0.2.2")).is_ok(),
            "another client is not affected"
        );
    }

    #[test]
    fn too_many_token_failures_block_the_client() {
        let limits = Limits::new(0, 2);
        let a = ip("192.0.2.1");
        assert_eq!(limits.token_failed(a), None);
        assert_eq!(limits.token_failed(a), None);
        assert_eq!(limits.token_blocked(a), None);
        assert!(limits.token_failed(a).is_some());
        assert!(limits.token_blocked(a).is_some());
        assert_eq!(limits.token_blocked(ip("192.0.2.2")), None);
        let off = Limits::new(0, 0);
        for _ in 0..100 {
            assert_eq!(off.token_failed(a), None);
        }
        assert!(off.check_auth(a).is_ok());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let r = too_many_requests(Duration::from_millis(1500), "slow down");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
