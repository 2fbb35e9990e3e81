//! Client-credentials access tokens of producers (issue 13 §2): a JWT from the configured
//! identity provider, verified like the ID token: signature with the provider's keys (an
//! unknown key makes Bearing fetch them again, rate-limited, as for ID tokens), an allow-listed
//! asymmetric algorithm, issuer, audience (`--producer-audience`), expiry and not-before with
//! [`LEEWAY`]; `client_id` (RFC 9068) or `azp` names the client, which must be listed in
//! `--producer-clients`. The caller is then `client:<id>`, a viewer and producer with the file's
//! scopes.
//!
//! Bearing's own API tokens start with [`app::auth::service::TOKEN_PREFIX`] and are never JWTs,
//! so the two cannot be confused.

use app::auth::{ActorKind, CurrentUser, Role};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::JsonWebKey;
use serde::Deserialize;

use super::oidc::{Provider, ALLOWED_ALGS};
use super::producers::ProducerClients;

/// Clock difference tolerated between the provider and Bearing, on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 30;

/// Longest access token read (a JWT is usually under 2 KiB).
const MAX_LEN: usize = 16 * 1024;

/// Why an access token was refused. The message goes to the caller: it says what to fix and
/// never repeats the token.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this Bearing takes no client-credentials access tokens (--producer-clients is not set); send a Bearing API token")]
    NotConfigured,
    #[error("the identity provider has not been reached yet; retry shortly")]
    Unavailable,
    #[error("the access token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    #[error("the access token's algorithm is not accepted (use RS256, ES256 or another asymmetric one the provider advertises)")]
    Algorithm,
    #[error("the access token has an unsupported critical header (`crit`)")]
    Critical,
    #[error("the access token's type (`typ`) says it is not an access token")]
    Type,
    #[error("the access token is signed with a key the identity provider does not publish")]
    UnknownKey,
    #[error("the access token's signature does not verify")]
    Signature,
    #[error("the access token was not issued by the configured identity provider")]
    Issuer,
    #[error("the access token is not for this Bearing: its audience (`aud`) must include {0}")]
    Audience(String),
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token names no client (`client_id` or `azp`)")]
    NoClient,
    #[error("the access token names two different clients in `client_id` and `azp`")]
    TwoClients,
    #[error("client `{0}` may not report here: an admin lists it in --producer-clients")]
    UnknownClient(String),
}

/// Whether `token` has the shape of a JWS in compact form (three base64url segments), as
/// opposed to a Bearing API token.
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    parts == 3
}

/// The JOSE header fields Bearing reads.
#[derive(Deserialize)]
struct Header {
    alg: serde_json::Value,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// The claims Bearing reads; numbers may be written as floats.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<OneOrMany>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sub: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, value: &str) -> bool {
        match self {
            OneOrMany::One(v) => v == value,
            OneOrMany::Many(vs) => vs.iter().any(|v| v == value),
        }
    }
}

/// The producer a client-credentials access token stands for, at Unix time `now`.
pub async fn verify(
    provider: Option<&Provider>,
    clients: Option<&ProducerClients>,
    token: &str,
    now: i64,
) -> Result<CurrentUser, Refusal> {
    let (Some(provider), Some(clients)) = (provider, clients) else {
        return Err(Refusal::NotConfigured);
    };
    if token.len() > MAX_LEN || !looks_like_jwt(token) {
        return Err(Refusal::Malformed("expected three base64url segments"));
    }
    let mut parts = token.splitn(3, '.');
    let (Some(h64), Some(c64), Some(s64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Refusal::Malformed("expected three base64url segments"));
    };
    let header: Header = decode_json(h64).ok_or(Refusal::Malformed("the header is not base64url JSON"))?;
    if header.crit.is_some() {
        return Err(Refusal::Critical);
    }
    // RFC 9068 access tokens say `at+jwt`; many providers still write `JWT` or nothing.
    if header.typ.as_deref().is_some_and(|t| {
        !["at+jwt", "application/at+jwt", "jwt"]
            .iter()
            .any(|ok| t.eq_ignore_ascii_case(ok))
    }) {
        return Err(Refusal::Type);
    }
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(header.alg).map_err(|_| Refusal::Algorithm)?;
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(Refusal::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| Refusal::Malformed("the signature is not base64url"))?;
    let signed = &token.as_bytes()[..h64.len() + 1 + c64.len()];

    let mut keys = provider
        .signing_keys(header.kid.as_deref(), &alg)
        .ok_or(Refusal::Unavailable)?;
    if keys.is_empty() {
        // The provider may have rotated its keys since Bearing last fetched them.
        provider.refresh_keys().await;
        keys = provider
            .signing_keys(header.kid.as_deref(), &alg)
            .ok_or(Refusal::Unavailable)?;
    }
    if keys.is_empty() {
        return Err(Refusal::UnknownKey);
    }
    if !keys
        .iter()
        .any(|key| key.verify_signature(&alg, signed, &signature).is_ok())
    {
        return Err(Refusal::Signature);
    }

    // Signed by the provider: now its claims can be read.
    let claims: Claims = decode_json(c64).ok_or(Refusal::Malformed("the claims are not base64url JSON"))?;
    if claims.iss.as_deref() != Some(provider.issuer()) {
        return Err(Refusal::Issuer);
    }
    if !claims.aud.as_ref().is_some_and(|aud| aud.contains(&clients.audience)) {
        return Err(Refusal::Audience(clients.audience.clone()));
    }
    let exp = claims.exp.ok_or(Refusal::Malformed("it has no expiry (`exp`)"))?;
    if (exp as i64).saturating_add(LEEWAY_SECS) <= now {
        return Err(Refusal::Expired);
    }
    if [claims.nbf, claims.iat]
        .into_iter()
        .flatten()
        .any(|t| (t as i64).saturating_sub(LEEWAY_SECS) > now)
    {
        return Err(Refusal::NotYetValid);
    }
    let client_id = match (claims.client_id, claims.azp) {
        (Some(a), Some(b)) if a != b => return Err(Refusal::TwoClients),
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(Refusal::NoClient),
    };
    let Some(scopes) = clients.scopes(&client_id) else {
        let shown: String = client_id.chars().take(200).collect();
        return Err(Refusal::UnknownClient(shown.escape_debug().to_string()));
    };
    Ok(CurrentUser {
        kind: ActorKind::Client,
        id: client_id.clone(),
        name: client_id,
        email: None,
        groups: Vec::new(),
        roles: vec![Role::Viewer, Role::Producer],
        lead_of: Vec::new(),
        catalog_ref: None,
        issuer: claims.iss,
        subject: claims.sub,
        scopes: scopes.to_vec(),
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_and_api_tokens_are_told_apart() {
        assert!(looks_like_jwt("eyJh.eyJi.c2ln"));
        assert!(!looks_like_jwt("brg_abcdef"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a..c"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a.b.c="), "base64url without padding only");
    }

    #[test]
    fn audiences_are_one_or_many() {
        let one: OneOrMany = serde_json::from_str(r#""https://b""#).unwrap();
        let many: OneOrMany = serde_json::from_str(r#"["x", "https://b"]"#).unwrap();
        assert!(one.contains("https://b") && many.contains("https://b"));
        assert!(!many.contains("https://b/"), "compared exactly");
    }

    #[tokio::test]
    async fn without_configuration_nothing_is_taken() {
        assert_eq!(
            verify(None, None, "a.b.c", 0).await.unwrap_err(),
            Refusal::NotConfigured
        );
    }
}
