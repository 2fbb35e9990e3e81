//! Sign-in and who is calling: the OIDC routes (`/auth/login`, `/auth/callback`,
//! `/auth/logout`), the session layer, the middleware that resolves every request's
//! [`Caller`](app::auth::guard::Caller) and refuses what anonymous callers may not reach, the
//! per-client rate limits, the privileges the operator configures at start, and the producers
//! that authenticate at the identity provider (client-credentials access tokens).

pub mod access_token;
pub mod limit;
pub mod middleware;
pub mod oidc;
pub mod producers;
pub mod roles;
pub mod routes;
pub mod session;
