//! Sign-in, sessions and roles.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;

/// How people sign in and what anonymous visitors may do.
#[derive(Clone, Debug, Args)]
pub struct AuthArgs {
    /// The OpenID provider's issuer URL, exactly as it writes it in its tokens.
    #[arg(long, env = "BEARING_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// This portal's client id at the provider.
    #[arg(long, env = "BEARING_OIDC_CLIENT_ID", default_value = "bearing")]
    pub oidc_client_id: String,

    /// The client secret (never logged).
    #[arg(long, env = "BEARING_OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub oidc_client_secret: Option<SecretString>,

    /// Scopes requested at sign-in, space-separated.
    #[arg(long, env = "BEARING_OIDC_SCOPES", default_value = "openid profile email groups")]
    pub oidc_scopes: String,

    /// The URL users reach Bearing at; the redirect URI is `<public url>/auth/callback`. With
    /// https the session cookie is `__Host-bearing` (Secure).
    #[arg(long, env = "BEARING_PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    pub public_url: String,

    /// Let visitors who are not signed in read the catalog.
    #[arg(long, env = "BEARING_ANONYMOUS_READ", default_value_t = false)]
    pub anonymous_read: bool,

    /// Identity-provider groups named `<team><suffix>` (e.g. `-leads`) make leads of catalog
    /// Group `<team>`. Off (empty) by default: with it on, whoever can create such a group at the
    /// provider leads that team.
    #[arg(long, env = "BEARING_LEAD_GROUP_SUFFIX", default_value = "")]
    pub lead_group_suffix: String,

    /// Makes one person an admin, named as `ISSUER:SUBJECT` (ISSUER exactly as
    /// --oidc-issuer, SUBJECT the ID token's `sub`). Repeatable; comma-separated in the
    /// environment. How a fresh install gets its first admin: no group grants anything unless
    /// configured.
    #[arg(long = "bootstrap-admin", env = "BEARING_BOOTSTRAP_ADMIN", value_delimiter = ',')]
    pub bootstrap_admins: Vec<String>,

    /// A JSON or TOML file mapping identity-provider groups to roles (`[[mapping]]` entries with
    /// `group`, `role` and, for leads, `team`), read at start. Adds to the mappings admins edit
    /// on /admin.
    #[arg(long, env = "BEARING_ROLE_MAPPING_FILE")]
    pub role_mapping_file: Option<PathBuf>,

    /// A JSON or TOML file naming the identity provider's OAuth 2.0 clients that may report
    /// delivery events with a client-credentials access token (`[[client]]` entries with `id`
    /// and `scopes`, the teams or components it reports on), read at start. Needs
    /// --oidc-issuer. Without it, only Bearing API tokens are producers.
    #[arg(long, env = "BEARING_PRODUCER_CLIENTS")]
    pub producer_clients: Option<PathBuf>,

    /// The audience (`aud`) producers' client-credentials access tokens must carry (the
    /// `resource` or `audience` they ask the provider for). Default: --public-url.
    #[arg(long, env = "BEARING_PRODUCER_AUDIENCE")]
    pub producer_audience: Option<String>,

    /// Days an API token lives when whoever creates it gives no expiry (1 to 3650).
    #[arg(long, env = "BEARING_TOKEN_EXPIRY_DAYS", default_value_t = app::ssr::DEFAULT_TOKEN_EXPIRY_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub token_expiry_days: u32,

    /// Requests to `/auth/*` allowed per minute from one client address (an IPv6 /64 counts
    /// as one address); more get 429. 0 switches the limit off (e.g. behind a proxy that
    /// limits already: every client then has the proxy's address).
    #[arg(long, env = "BEARING_AUTH_RATE_LIMIT", default_value_t = 60)]
    pub auth_rate_limit: u32,

    /// Failed API-token authentications allowed per minute from one client address; past
    /// that, every token request from it gets 429 until the minute is over. 0 switches it off.
    #[arg(long, env = "BEARING_TOKEN_FAILURE_LIMIT", default_value_t = 20)]
    pub token_failure_limit: u32,

    /// A session ends after this long without requests.
    #[arg(long, env = "BEARING_SESSION_IDLE", default_value = "8h", value_parser = humantime::parse_duration)]
    pub session_idle: Duration,

    /// A session ends this long after sign-in, however active.
    #[arg(long, env = "BEARING_SESSION_LIFETIME", default_value = "24h", value_parser = humantime::parse_duration)]
    pub session_lifetime: Duration,

    /// JSON file of the development identity provider's demo users, listed on the login page
    /// (`devidp/users.json`). Development only.
    #[arg(long, env = "BEARING_DEV_USERS")]
    pub dev_users: Option<PathBuf>,
}

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}

impl AuthArgs {
    /// Whether cookies must be Secure (the public URL is https).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The audience producers' access tokens must carry: --producer-audience, or the public URL
    /// without a trailing slash.
    pub fn producer_audience(&self) -> String {
        match self
            .producer_audience
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(audience) => audience.to_owned(),
            None => self.public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The public origin (`scheme://host[:port]`), which cross-origin checks compare with.
    pub fn public_origin(&self) -> String {
        let url = self.public_url.trim_end_matches('/');
        match url.find("://").map(|i| i + 3) {
            Some(start) => match url[start..].find('/') {
                Some(slash) => url[..start + slash].to_owned(),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }
}
