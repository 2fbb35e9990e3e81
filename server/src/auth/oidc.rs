//! The OpenID Connect client: discovery (retried with backoff while the provider is down),
//! the authorization URL with PKCE (S256), nonce and state, and full verification of the
//! ID token (issuer, audience, signature against an algorithm allow-list, expiry, nonce, and
//! `at_hash` when present). A token signed with a key Bearing has not seen makes it fetch the
//! provider's keys again (rate-limited), so a key rotation at the provider does not lock
//! everyone out until the hourly re-discovery.
//!
//! A provider that stops answering after it was discovered is noticed when someone starts a
//! sign-in ([`Provider::reachable`]) or a code exchange cannot reach it: the login page then
//! says the provider is unavailable (instead of sending the browser to a dead address) and
//! discovery starts over, with backoff, until it answers again. Signed-in people are not
//! affected: sessions live in PostgreSQL and never ask the provider.

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::ssr::AuthSettings;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, JsonWebKey, JsonWebKeyAlgorithm,
    JsonWebKeyUse, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, SignatureVerificationError,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::AuthArgs;

/// The `groups` claim, which identity providers add to the ID token (or userinfo).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GroupsClaim {
    #[serde(default)]
    pub groups: Vec<String>,
}

impl AdditionalClaims for GroupsClaim {}

type TokenFields = IdTokenFields<
    GroupsClaim,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type OidcClient = openidconnect::Client<
    GroupsClaim,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Signature algorithms accepted on ID tokens and producers' access tokens. `none` and HMAC
/// (which would let anyone holding the client secret mint tokens) are not.
pub(crate) const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// A discovered provider.
struct Ready {
    client: OidcClient,
    end_session: Option<openidconnect::EndSessionUrl>,
    /// The provider's public keys, which also verify producers' access tokens.
    jwks: CoreJsonWebKeySet,
}

/// The identity provider as Bearing knows it: configuration, and the discovered client once
/// discovery has succeeded.
pub struct Provider {
    issuer: String,
    client_id: String,
    client_secret: Option<secrecy::SecretString>,
    scopes: Vec<String>,
    redirect_url: String,
    public_url: String,
    http: openidconnect::reqwest::Client,
    ready: RwLock<Option<Arc<Ready>>>,
    settings: Arc<AuthSettings>,
    /// When an ID token last made Bearing fetch the provider's keys again.
    key_refresh: tokio::sync::Mutex<KeyRefresh>,
    /// Woken when the provider stopped answering, so that discovery starts over.
    lost: tokio::sync::Notify,
}

/// How long a reachability check waits for the provider's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// An ID token signed with a key Bearing does not know makes it discover the provider again
/// (the provider rotated its keys), at most once per [`KeyRefresh::MIN_INTERVAL`]: a token
/// with an unknown `kid` must not become a way to make Bearing hammer the provider.
#[derive(Debug, Default)]
struct KeyRefresh {
    last: Option<std::time::Instant>,
}

impl KeyRefresh {
    const MIN_INTERVAL: Duration = Duration::from_secs(60);

    /// Whether a refresh may start at `now`; if so, it counts as started.
    fn try_begin(&mut self, now: std::time::Instant) -> bool {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Self::MIN_INTERVAL)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// What the browser must remember between `/auth/login` and `/auth/callback` (kept in the
/// pre-login session, never in the URL).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// Unix seconds when the sign-in started (0 for one stored before this was recorded, which
    /// then counts as expired).
    #[serde(default)]
    pub started_at: i64,
}

impl PendingLogin {
    /// Whether a callback's `state` is this sign-in's (compared in constant time).
    pub fn matches(&self, state: &str) -> bool {
        constant_time_eq(self.state.as_bytes(), state.as_bytes())
    }

    /// Whether the sign-in started more than `ttl` before `now` (Unix seconds).
    pub fn expired(&self, now: i64, ttl: time::Duration) -> bool {
        now.saturating_sub(self.started_at) > ttl.whole_seconds()
    }
}

/// A verified sign-in.
#[derive(Clone, Debug)]
pub struct VerifiedLogin {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The provider's `email_verified`; `false` when it does not say.
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// The raw ID token, kept in the session as the logout hint.
    pub id_token: String,
}

/// Why a sign-in was refused. Messages go to the audit log and the login page: no secrets.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the identity provider is unavailable")]
    Unavailable,
    #[error("the sign-in state does not match (tampered, replayed or from another browser)")]
    StateMismatch,
    #[error("the identity provider refused: {0}")]
    Provider(String),
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the ID token is invalid: {0}")]
    InvalidToken(String),
}

impl Provider {
    /// A provider for `args`; `None` when no issuer is configured (sign-in then is impossible and
    /// the login page says so).
    pub fn new(args: &AuthArgs, settings: Arc<AuthSettings>) -> anyhow::Result<Option<Arc<Provider>>> {
        let Some(issuer) = args.oidc_issuer.clone().filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the client to SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        let public_url = args.public_url.trim_end_matches('/').to_owned();
        Ok(Some(Arc::new(Provider {
            issuer,
            client_id: args.oidc_client_id.clone(),
            client_secret: args.oidc_client_secret.clone(),
            scopes: args.oidc_scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_url: format!("{public_url}/auth/callback"),
            public_url,
            http,
            ready: RwLock::new(None),
            settings,
            key_refresh: tokio::sync::Mutex::new(KeyRefresh::default()),
            lost: tokio::sync::Notify::new(),
        })))
    }

    /// Discovers the provider, retrying with exponential backoff (1 s up to 60 s, with jitter)
    /// until it answers, then again every hour to pick up rotated signing keys, or at once when
    /// the provider was found not answering ([`Provider::reachable`]).
    pub async fn keep_discovered(self: Arc<Self>) {
        let mut delay = Duration::from_secs(1);
        let mut failing = false;
        loop {
            match self.discover().await {
                Ok(ready) => {
                    if failing || !self.settings.ready() {
                        tracing::info!(issuer = %self.issuer, "identity provider discovered");
                    }
                    failing = false;
                    if let Ok(mut slot) = self.ready.write() {
                        *slot = Some(Arc::new(ready));
                    }
                    self.settings.provider_ready.store(true, Ordering::Release);
                    delay = Duration::from_secs(1);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                        () = self.lost.notified() => {}
                    }
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(issuer = %self.issuer, error = %err, "identity provider unavailable; retrying with backoff");
                    }
                    failing = true;
                    let jitter = Duration::from_millis(rand::random::<u64>() % 500);
                    tokio::time::sleep(delay + jitter).await;
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    async fn discover(&self) -> anyhow::Result<Ready> {
        let metadata =
            ProviderMetadataWithLogout::discover_async(IssuerUrl::new(self.issuer.clone())?, &self.http).await?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let jwks = metadata.jwks().clone();
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            self.client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect_url.clone())?);
        Ok(Ready {
            client,
            end_session,
            jwks,
        })
    }

    fn current(&self) -> Option<Arc<Ready>> {
        self.ready.read().ok().and_then(|r| r.clone())
    }

    /// Whether the provider answers now: its discovery document, fetched within
    /// [`PROBE_TIMEOUT`]. Asked before each sign-in sends the browser there (one small request
    /// per sign-in; a remembered answer would miss a provider that went down seconds ago): a
    /// provider that went down after discovery would otherwise leave people at a browser error
    /// about an address they never typed. When it does not answer, the login page says the
    /// provider is unavailable until it answers again.
    pub async fn reachable(&self) -> bool {
        if self.current().is_none() {
            return false;
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let answered = self
            .http
            .get(url)
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if answered {
            self.settings.provider_ready.store(true, Ordering::Release);
        } else {
            self.mark_unreachable();
        }
        answered
    }

    /// The provider did not answer: the login page says so, and discovery starts over.
    fn mark_unreachable(&self) {
        if self.settings.provider_ready.swap(false, Ordering::AcqRel) {
            tracing::warn!(issuer = %self.issuer, "the identity provider does not answer; sign-ins are refused with a message until it does");
        }
        self.lost.notify_one();
    }

    /// The provider's authorization URL and what to remember until the callback.
    pub fn start(&self, return_to: String, login_hint: Option<&str>) -> Result<(String, PendingLogin), LoginError> {
        let ready = self.current().ok_or(LoginError::Unavailable)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = ready
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, state, nonce) = request.url();
        Ok((
            url.to_string(),
            PendingLogin {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                return_to,
                started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        ))
    }

    /// Completes a sign-in: checks `state`, exchanges the code with the PKCE verifier and
    /// verifies the ID token.
    pub async fn finish(&self, pending: PendingLogin, state: &str, code: &str) -> Result<VerifiedLogin, LoginError> {
        if !pending.matches(state) {
            return Err(LoginError::StateMismatch);
        }
        let ready = self.current().ok_or(LoginError::Unavailable)?;
        let response = ready
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| LoginError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                // The provider cannot be reached (it went down since the browser left it).
                openidconnect::RequestTokenError::Request(_) => {
                    self.mark_unreachable();
                    LoginError::Unavailable
                }
                e => LoginError::Exchange(describe_token_error(&e)),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| LoginError::InvalidToken("the provider returned no ID token".into()))?;
        self.verify(ready, id_token, &pending.nonce, Some(response.access_token()))
            .await
    }

    /// Verifies a raw ID token as [`Provider::finish`] does (without `at_hash`, which needs the
    /// access token). For tests of token substitution and key rotation.
    pub async fn verify_raw_id_token(&self, raw: &str, nonce: &str) -> Result<VerifiedLogin, LoginError> {
        let ready = self.current().ok_or(LoginError::Unavailable)?;
        let token: IdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| LoginError::InvalidToken(e.to_string()))?;
        self.verify(ready, &token, nonce, None).await
    }

    /// Verifies an ID token with the provider's keys; when it is signed with a key not among
    /// them (the provider rotated its keys since discovery), discovers the provider again, if
    /// the last such refresh was long enough ago, and verifies with the keys now known.
    async fn verify(
        &self,
        ready: Arc<Ready>,
        id_token: &IdToken,
        nonce: &str,
        access_token: Option<&openidconnect::AccessToken>,
    ) -> Result<VerifiedLogin, LoginError> {
        let unknown_key = matches!(
            id_token.signing_key(&ready.client.id_token_verifier()),
            Err(SignatureVerificationError::NoMatchingKey)
        );
        let ready = if unknown_key {
            self.refresh_keys().await;
            self.current().unwrap_or(ready)
        } else {
            ready
        };
        verify_id_token(&ready.client, id_token, nonce, access_token)
    }

    /// The provider's signing keys that may have signed a token with header `kid` and `alg`
    /// (all signing keys for that algorithm when the header names no key); `None` before
    /// discovery. Empty: the provider may have rotated its keys (see [`Provider::refresh_keys`]).
    pub(crate) fn signing_keys(&self, kid: Option<&str>, alg: &CoreJwsSigningAlgorithm) -> Option<Vec<CoreJsonWebKey>> {
        let ready = self.current()?;
        let keys = ready
            .jwks
            .keys()
            .iter()
            .filter(|k| k.key_use().is_none_or(|u| u.allows_signature()))
            .filter(|k| kid.is_none_or(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
            .filter(|k| match k.signing_alg() {
                JsonWebKeyAlgorithm::Algorithm(a) => a == alg,
                // The key's type is checked against the algorithm when verifying.
                JsonWebKeyAlgorithm::Unspecified => true,
                JsonWebKeyAlgorithm::Unsupported => false,
            })
            .cloned()
            .collect();
        Some(keys)
    }

    /// Discovers the provider again (new signing keys), unless that happened for an unknown key
    /// less than [`KeyRefresh::MIN_INTERVAL`] ago. Concurrent callers wait for one refresh.
    pub(crate) async fn refresh_keys(&self) {
        let mut gate = self.key_refresh.lock().await;
        if !gate.try_begin(std::time::Instant::now()) {
            tracing::debug!(issuer = %self.issuer, "token signed with an unknown key; keys were refreshed recently");
            return;
        }
        match self.discover().await {
            Ok(ready) => {
                tracing::info!(issuer = %self.issuer, "token signed with an unknown key: fetched the provider's keys again");
                if let Ok(mut slot) = self.ready.write() {
                    *slot = Some(Arc::new(ready));
                }
            }
            Err(err) => {
                tracing::warn!(issuer = %self.issuer, error = %err, "token signed with an unknown key, and the provider's keys could not be fetched again");
            }
        }
    }

    /// Where to send the browser to end the provider's session too (RP-initiated logout), if the
    /// provider supports it.
    pub fn logout_url(&self, id_token: Option<&str>) -> Option<String> {
        let ready = self.current()?;
        let endpoint = ready.end_session.clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.client_id.clone()))
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(format!("{}/", self.public_url)).ok()?);
        if let Some(token) = id_token.and_then(|t| t.parse::<openidconnect::core::CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url().to_string())
    }

    /// The origin of the provider (for the pages' Content-Security-Policy `form-action`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

type IdToken =
    openidconnect::IdToken<GroupsClaim, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Full ID token verification: signature (allow-listed algorithms, provider's keys), issuer,
/// audience, expiry, nonce, and `at_hash` when present and the access token is known.
fn verify_id_token(
    client: &OidcClient,
    id_token: &IdToken,
    nonce: &str,
    access_token: Option<&openidconnect::AccessToken>,
) -> Result<VerifiedLogin, LoginError> {
    let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| LoginError::InvalidToken(e.to_string()))?;
    if let (Some(expected), Some(access_token)) = (claims.access_token_hash(), access_token) {
        let alg = id_token
            .signing_alg()
            .map_err(|e| LoginError::InvalidToken(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| LoginError::InvalidToken(e.to_string()))?;
        let actual =
            AccessTokenHash::from_token(access_token, alg, key).map_err(|e| LoginError::InvalidToken(e.to_string()))?;
        if actual != *expected {
            return Err(LoginError::InvalidToken(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    Ok(VerifiedLogin {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string())
            .or_else(|| claims.preferred_username().map(|u| u.to_string())),
        groups: claims.additional_claims().groups.clone(),
        id_token: id_token.to_string(),
    })
}

/// The provider's error code and description, never the request (which holds the secret).
fn describe_token_error<E: std::error::Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refreshes_are_rate_limited() {
        let start = std::time::Instant::now();
        let mut gate = KeyRefresh::default();
        assert!(gate.try_begin(start), "the first unknown key refreshes at once");
        assert!(!gate.try_begin(start + Duration::from_secs(1)));
        assert!(!gate.try_begin(start + KeyRefresh::MIN_INTERVAL - Duration::from_millis(1)));
        assert!(gate.try_begin(start + KeyRefresh::MIN_INTERVAL));
    }

    #[test]
    fn a_pending_sign_in_matches_its_state_and_expires() {
        let p = PendingLogin {
            state: "abc".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: "/".into(),
            started_at: 1_000,
        };
        assert!(p.matches("abc"));
        assert!(!p.matches("abd") && !p.matches("ab") && !p.matches(""));
        let ttl = time::Duration::minutes(10);
        assert!(!p.expired(1_000 + 600, ttl));
        assert!(p.expired(1_000 + 601, ttl));
    }
}
