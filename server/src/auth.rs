//! Sign-in and who is calling: the OIDC routes (`/auth/login`, `/auth/callback`,
//! `/auth/logout`), the session layer, the middleware that resolves every request's
//! [`Caller`](app::auth::guard::Caller) and refuses what anonymous callers may not reach, the
//! per-client rate limits, and the privileges the operator configures at start.

pub mod limit;
pub mod middleware;
pub mod oidc;
pub mod roles;
pub mod routes;
pub mod session;
