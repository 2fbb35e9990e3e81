//! Sign-in and who is calling: the OIDC routes (`/auth/login`, `/auth/callback`,
//! `/auth/logout`), the session layer, and the middleware that resolves every request's
//! [`Caller`](app::auth::guard::Caller) and refuses what anonymous callers may not reach.

pub mod middleware;
pub mod oidc;
pub mod routes;
pub mod session;
