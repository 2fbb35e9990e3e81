//! The OpenID Connect client: discovery (retried with backoff while the provider is down),
//! the authorization URL with PKCE (S256), nonce and state, and full verification of the
//! ID token (issuer, audience, signature against an algorithm allow-list, expiry, nonce, and
//! `at_hash` when present).

use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use app::ssr::AuthSettings;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
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

/// Signature algorithms accepted on ID tokens. `none` and HMAC (which would let anyone holding
/// the client secret mint tokens) are not.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
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
}

/// What the browser must remember between `/auth/login` and `/auth/callback` (kept in the
/// pre-login session, never in the URL).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

/// A verified sign-in.
#[derive(Clone, Debug)]
pub struct VerifiedLogin {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
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
        })))
    }

    /// Discovers the provider, retrying with exponential backoff (1 s up to 60 s, with jitter)
    /// until it answers, then again every hour to pick up rotated signing keys.
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
                    tokio::time::sleep(Duration::from_secs(3600)).await;
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
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            self.client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect_url.clone())?);
        Ok(Ready { client, end_session })
    }

    fn current(&self) -> Option<Arc<Ready>> {
        self.ready.read().ok().and_then(|r| r.clone())
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
            },
        ))
    }

    /// Completes a sign-in: checks `state`, exchanges the code with the PKCE verifier and
    /// verifies the ID token.
    pub async fn finish(&self, pending: PendingLogin, state: &str, code: &str) -> Result<VerifiedLogin, LoginError> {
        if !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
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
            .map_err(|e| LoginError::Exchange(describe_token_error(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| LoginError::InvalidToken("the provider returned no ID token".into()))?;
        verify_id_token(&ready.client, id_token, &pending.nonce, Some(response.access_token()))
    }

    /// Verifies a raw ID token as [`Provider::finish`] does (without `at_hash`, which needs the
    /// access token). For tests of token substitution.
    pub fn verify_raw_id_token(&self, raw: &str, nonce: &str) -> Result<VerifiedLogin, LoginError> {
        let ready = self.current().ok_or(LoginError::Unavailable)?;
        let token: IdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| LoginError::InvalidToken(e.to_string()))?;
        verify_id_token(&ready.client, &token, nonce, None)
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
