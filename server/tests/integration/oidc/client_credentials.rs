//! Issue 13 §2: a producer authenticating with an OAuth 2.0 client-credentials access token from
//! the real development provider, which signs with a key this test also holds
//! (`DEVIDP_JWKS_FILE`), so that tokens with one wrong claim can be crafted under a signature
//! the provider vouches for: each refusal is then the claim's, not the signature's.

use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{portal_with, reqwest, start_idp_env, Idp, Portal};
use crate::util::{repo_root, ORIGIN};

const KID: &str = "test-signing-key";
const CLIENT: &str = "luigi-orders";

/// A new RSA private key as a JWK with key id `kid` (node, which the provider needs anyway,
/// makes one in milliseconds).
fn rsa_jwk(kid: &str) -> Value {
    let script = "const c = require('crypto');
        const { privateKey } = c.generateKeyPairSync('rsa', { modulusLength: 2048 });
        const jwk = privateKey.export({ format: 'jwk' });
        process.stdout.write(JSON.stringify({ ...jwk, kid: process.argv[1], alg: 'RS256', use: 'sig' }));";
    let out = Command::new("node").args(["-e", script, kid]).output().expect("node");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JWK")
}

/// A compact JWS of `claims` signed RS256 with `jwk` (its `kid` in the header).
fn sign(jwk: &Value, claims: &Value) -> String {
    let script = "const c = require('crypto');
        let input = '';
        process.stdin.on('data', (d) => { input += d; });
        process.stdin.on('end', () => {
          const { jwk, header, claims } = JSON.parse(input);
          const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
          const signing = `${b64(header)}.${b64(claims)}`;
          const sig = c.sign('sha256', Buffer.from(signing), c.createPrivateKey({ key: jwk, format: 'jwk' }));
          process.stdout.write(`${signing}.${sig.toString('base64url')}`);
        });";
    let mut child = Command::new("node")
        .args(["-e", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": jwk["kid"]});
    let input = json!({"jwk": jwk, "header": header, "claims": claims});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("node");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The claims of a good access token of [`CLIENT`] from `idp`.
fn good_claims(idp: &Idp) -> Value {
    let now = now();
    json!({"iss": idp.issuer, "aud": ORIGIN, "client_id": CLIENT, "sub": CLIENT,
           "iat": now, "exp": now + 300, "jti": "t1", "scope": "lineage:write"})
}

/// The provider (signing with `jwk`, machine tokens for Bearing's audience) and Bearing with
/// devidp/producer-clients.toml (luigi-orders, scoped to team-data) and the demo catalog, whose
/// orders-etl names `client:luigi-orders`.
async fn setup(jwk: &Value) -> (Idp, Portal, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [jwk]}).to_string()).unwrap();
    let jwks = jwks.to_str().unwrap().to_owned();
    let idp = start_idp_env(
        3600,
        None,
        None,
        &[
            ("DEVIDP_JWKS_FILE", jwks.as_str()),
            ("DEVIDP_PRODUCER_AUDIENCE", ORIGIN),
        ],
    )
    .await;
    let portal = portal_with(&idp.issuer, ORIGIN, true, |args| {
        args.producer_clients = Some(repo_root().join("devidp/producer-clients.toml"));
    })
    .await;
    (idp, portal, dir)
}

/// A client-credentials token of `client` from the provider's token endpoint.
async fn client_credentials(idp: &Idp, client: &str, secret: &str) -> String {
    let resp = reqwest()
        .post(format!("{}/token", idp.issuer))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", ORIGIN),
            ("scope", "lineage:write"),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(status.as_u16(), 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `POST /api/v1/lineage` with a START event of orders-etl's `luigi/Extract`, as `token`.
async fn report(p: &Portal, token: &str) -> (StatusCode, Value) {
    let event = json!({
        "eventType": "START", "eventTime": "2026-12-06T10:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0193a6f2-1111-7000-8000-000000000001"},
        "job": {"namespace": "luigi", "name": "Extract"}
    });
    let req = Request::post("/api/v1/lineage")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(event.to_string()))
        .unwrap();
    let resp = p.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[track_caller]
fn assert_refused(answer: (StatusCode, Value), why: &str) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    let detail = body["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(why), "expected `{why}` in: {detail}");
}

#[tokio::test]
async fn a_client_credentials_token_reports_as_client_id() {
    let jwk = rsa_jwk(KID);
    let (idp, p, _dir) = setup(&jwk).await;
    let token = client_credentials(&idp, CLIENT, "luigi-orders-secret").await;

    let (status, body) = report(&p, &token).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"][0]["component"], "component:default/orders-etl", "{body}");
    let producers: Vec<String> = sqlx::query_scalar("SELECT producer FROM delivery_events")
        .fetch_all(&p.app.superuser)
        .await
        .unwrap();
    assert_eq!(producers, ["client:luigi-orders"]);

    // The same token reads as a viewer, and is nothing more.
    let req = Request::get("/api/v1/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = p.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let me: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(me["kind"], "client");
    assert_eq!(me["roles"], json!(["viewer", "producer"]));
    assert_eq!(me["scopes"], json!(["group:default/team-data"]));
}

#[tokio::test]
async fn bad_client_credentials_tokens_are_refused_and_counted() {
    let jwk = rsa_jwk(KID);
    let (idp, p, _dir) = setup(&jwk).await;

    // A token crafted with the provider's key and good claims passes: the crafting is sound,
    // so each refusal below is the one claim's.
    let good = good_claims(&idp);
    let (status, body) = report(&p, &sign(&jwk, &good)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        sign(&jwk, &claims)
    };
    assert_refused(report(&p, &with("exp", json!(now() - 120))).await, "has expired");
    assert_refused(report(&p, &with("nbf", json!(now() + 600))).await, "not valid yet");
    assert_refused(
        report(&p, &with("aud", json!(["https://elsewhere.example"]))).await,
        "audience (`aud`) must include http://bearing.test",
    );
    assert_refused(
        report(&p, &with("iss", json!("http://127.0.0.1:1"))).await,
        "not issued by the configured identity provider",
    );
    let mut no_client = good.clone();
    no_client.as_object_mut().unwrap().remove("client_id");
    assert_refused(report(&p, &sign(&jwk, &no_client)).await, "names no client");
    assert_refused(
        report(&p, &with("azp", json!("other-machine"))).await,
        "two different clients",
    );

    // A real token of a client the provider knows but Bearing does not list.
    let other = client_credentials(&idp, "other-machine", "other-machine-secret").await;
    assert_refused(report(&p, &other).await, "client `other-machine` may not report here");

    // Tampered: the real token with its expiry pushed a day later, its signature kept.
    let real = client_credentials(&idp, CLIENT, "luigi-orders-secret").await;
    let parts: Vec<&str> = real.split('.').collect();
    let claims = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1]).unwrap();
    let mut claims: Value = serde_json::from_slice(&claims).unwrap();
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims.to_string()),
        parts[2]
    );
    assert_refused(report(&p, &forged).await, "signature does not verify");
    // A throwaway key under the provider's key id, and one under an id it does not publish.
    assert_refused(
        report(&p, &sign(&rsa_jwk(KID), &good)).await,
        "signature does not verify",
    );
    assert_refused(
        report(&p, &sign(&rsa_jwk("not-published"), &good)).await,
        "a key the identity provider does not publish",
    );
    let (status, _) = report(&p, "eyJhbGciOiJub25lIn0.eyJ9.x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "alg none, broken claims");

    // Every refusal counts among the failed token authentications (20 a minute by default).
    let mut limited = false;
    for _ in 0..25 {
        let (status, _) = report(&p, &forged).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(limited, "failed access tokens are rate-limited like API tokens");
}

#[tokio::test]
async fn producer_clients_need_an_issuer_and_a_good_file() {
    let mut args = crate::util::auth_args();
    args.producer_clients = Some(repo_root().join("devidp/producer-clients.toml"));
    let err = server::commands::serve::producer_clients(&args).unwrap_err();
    assert!(err.to_string().contains("set --oidc-issuer too"), "{err}");

    args.oidc_issuer = Some("http://127.0.0.1:4010".into());
    let clients = server::commands::serve::producer_clients(&args).unwrap().unwrap();
    assert_eq!(clients.audience, ORIGIN, "default: the public URL");
    assert_eq!(
        clients.scopes(CLIENT),
        Some(&["group:default/team-data".to_owned()][..])
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("clients.toml");
    std::fs::write(
        &bad,
        "[[client]]\nid = \"x\"\nscopes = [\"t\"]\n\n[[client]]\nid = \"y\"\n",
    )
    .unwrap();
    args.producer_clients = Some(bad.clone());
    let err = format!("{:#}", server::commands::serve::producer_clients(&args).unwrap_err());
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("line 5: client 2 (`y`)"),
        "{err}"
    );
}
