//! Access reviews (issue 14 §3): entries and reviewers as specified, self-review refused, a
//! revoke removes access at once, the attestation verifies with stock `openssl`, and the
//! evidence bundle gets the review.

use std::collections::HashMap;
use std::process::Command;

use app::auth::guard::Caller;
use app::auth::service::LoginClaims;
use app::auth::{Role, RoleMapping};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

use crate::util::{TestApp, ORIGIN};

const ISSUER: &str = "https://idp.test";

/// A person who signed in with `groups`, and the cookie of a fresh session of theirs.
struct Person {
    actor: String,
    cookie: String,
}

/// Signs `login` in (as the callback would) and creates a session for them directly, dated a
/// second back: a revoke ends the sessions signed in before it.
async fn sign_in(app: &TestApp, login: &str, groups: &[&str]) -> Person {
    sign_in_at(app, login, groups, -1).await
}

/// [`sign_in`] with the session's sign-in time `skew` seconds from now (whole seconds, as the
/// session stores it): `+1` for a sign-in that must count as after a revoke of this second.
async fn sign_in_at(app: &TestApp, login: &str, groups: &[&str], skew: i64) -> Person {
    let claims = LoginClaims {
        issuer: ISSUER.into(),
        subject: login.into(),
        email: Some(format!("{login}@example.com")),
        email_verified: true,
        name: Some(login.into()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    let user = app::auth::service::login(&app.ctx, &Caller::default(), &claims)
        .await
        .expect("login");
    let store = tower_sessions_sqlx_store::PostgresStore::new(app.pool.clone())
        .with_schema_name("public")
        .unwrap()
        .with_table_name("sessions")
        .unwrap();
    let auth = server::auth::session::SessionAuth {
        user_id: user.id.parse().unwrap(),
        logged_in_at: OffsetDateTime::now_utc().unix_timestamp() + skew,
        id_token: String::new(),
    };
    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([(
            server::auth::session::AUTH_KEY.to_owned(),
            serde_json::to_value(auth).unwrap(),
        )]),
        expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.expect("session");
    Person {
        actor: user.actor(),
        cookie: format!("bearing={}", record.id),
    }
}

/// Sends a request as `person` (cookie, and the same-origin header state changes need).
async fn as_person(
    app: &TestApp,
    person: &Person,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", &person.cookie)
        .header("origin", ORIGIN);
    let req = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            req.body(Body::from(b.to_string()))
        }
        None => req.body(Body::empty()),
    }
    .unwrap();
    let (status, text) = app.send(req).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The demo organisation's people: two admins, two leads of team-checkout, the only lead of
/// team-fulfilment, an auditor and an engineer.
struct Org {
    paul: Person,
    ada: Person,
    priya: Person,
    omar: Person,
    ingrid: Person,
    grace: Person,
    liam: Person,
}

async fn org(app: &TestApp) -> Org {
    for (group, role) in [("admins", Role::Admin), ("auditors", Role::Auditor)] {
        let mapping = RoleMapping {
            idp_group: group.into(),
            role,
            team: String::new(),
        };
        app::auth::service::change_role_mapping(&app.ctx, &Caller::system("test"), mapping, true)
            .await
            .expect("mapping");
    }
    Org {
        paul: sign_in(app, "paul", &["admins"]).await,
        ada: sign_in(app, "ada", &["admins"]).await,
        priya: sign_in(app, "priya", &["team-checkout-leads"]).await,
        omar: sign_in(app, "omar", &["team-checkout-leads", "engineers"]).await,
        ingrid: sign_in(app, "ingrid", &["team-fulfilment-leads"]).await,
        grace: sign_in(app, "grace", &["auditors"]).await,
        liam: sign_in(app, "liam", &["engineers"]).await,
    }
}

fn due_in(days: i64) -> String {
    (OffsetDateTime::now_utc().date() + time::Duration::days(days)).to_string()
}

/// Opens a review of everyone as `admin`; returns its id and entries.
async fn open(app: &TestApp, admin: &Person) -> (i64, Vec<Value>) {
    let (status, body) = as_person(
        app,
        admin,
        "POST",
        "/api/v1/access-reviews",
        Some(json!({"due_on": due_in(14)})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["review"]["id"].as_i64().unwrap();
    (id, body["entries"].as_array().unwrap().clone())
}

/// The entry about `subject` for `role`.
fn entry<'a>(entries: &'a [Value], subject: &str, role: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["subject"] == subject && e["role"] == role)
        .unwrap_or_else(|| panic!("no {role} entry for {subject} in {entries:#?}"))
}

fn decision_uri(review: i64, entry: &Value) -> String {
    format!("/api/v1/access-reviews/{review}/entries/{}/decision", entry["id"])
}

#[tokio::test]
async fn opening_a_review_assigns_every_grant_to_someone_other_than_its_subject() {
    let app = TestApp::strict_with_demo().await;
    let org = org(&app).await;
    app.token("lead", Some("team-checkout")).await;

    // Engineers may neither open nor read reviews.
    let (status, _) = as_person(
        &app,
        &org.liam,
        "POST",
        "/api/v1/access-reviews",
        Some(json!({"due_on": due_in(7)})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = as_person(&app, &org.liam, "GET", "/api/v1/access-reviews", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad input says what and how, and opens nothing.
    let (status, body) = as_person(
        &app,
        &org.paul,
        "POST",
        "/api/v1/access-reviews",
        Some(json!({"due_on": "31/12/2026"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("YYYY-MM-DD"), "{body}");
    let (status, body) = as_person(
        &app,
        &org.paul,
        "POST",
        "/api/v1/access-reviews",
        Some(json!({"due_on": due_in(7), "scope": "team-nowhere"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = as_person(&app, &org.paul, "GET", "/api/v1/access-reviews", None).await;
    assert_eq!(list["items"], json!([]), "refused opens leave nothing behind");

    let (id, entries) = open(&app, &org.paul).await;
    let who = |e: &Value| (e["reviewer"].as_str().unwrap().to_owned(), e["team"].clone());
    let checkout = json!("group:default/team-checkout");
    assert_eq!(
        who(entry(&entries, &org.paul.actor, "admin")),
        ("admins".into(), Value::Null)
    );
    assert_eq!(
        who(entry(&entries, &org.ada.actor, "admin")),
        ("admins".into(), Value::Null)
    );
    assert_eq!(
        who(entry(&entries, &org.grace.actor, "auditor")),
        ("admins".into(), Value::Null)
    );
    assert_eq!(
        who(entry(&entries, &org.priya.actor, "lead")),
        ("team_leads".into(), checkout.clone())
    );
    assert_eq!(
        who(entry(&entries, &org.omar.actor, "lead")),
        ("team_leads".into(), checkout.clone())
    );
    // Ingrid is her team's only lead: an admin reviews her, never she herself.
    assert_eq!(
        who(entry(&entries, &org.ingrid.actor, "lead")),
        ("admins".into(), json!("group:default/team-fulfilment"))
    );
    let token = entries
        .iter()
        .find(|e| e["kind"] == "token" && e["role"] == "lead")
        .expect("the lead token");
    assert_eq!(who(token), ("team_leads".into(), checkout.clone()));
    assert!(
        entries.iter().all(|e| e["subject"] != org.liam.actor.as_str()),
        "an engineer holds no reviewed role"
    );
    let priya = entry(&entries, &org.priya.actor, "lead");
    assert!(
        priya["granted_via"].as_str().unwrap().contains("team-checkout-leads"),
        "{priya}"
    );
    assert!(priya["last_seen_at"].is_string());
    // The reviewer sees her entries to decide first; the subject's own is not hers to decide.
    let (_, as_priya) = as_person(&app, &org.priya, "GET", &format!("/api/v1/access-reviews/{id}"), None).await;
    let seen: Vec<&Value> = as_priya["entries"].as_array().unwrap().iter().collect();
    assert!(
        seen.iter()
            .all(|e| e["team"] == checkout || e["subject"] == org.priya.actor.as_str()),
        "{seen:#?}"
    );
    assert_eq!(seen.len(), 3, "priya, omar and the lead token: {seen:#?}");
    assert_eq!(seen[0]["may_decide"], true);
    assert_eq!(
        entry(
            &as_priya["entries"].as_array().unwrap().clone(),
            &org.priya.actor,
            "lead"
        )["may_decide"],
        false
    );
    // An auditor reads everything but decides nothing.
    let (status, as_grace) = as_person(&app, &org.grace, "GET", &format!("/api/v1/access-reviews/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(as_grace["entries"].as_array().unwrap().len(), entries.len());
    assert!(as_grace["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["may_decide"] == false));
    let opened: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'access_review.open'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(opened, 1);
}

#[tokio::test]
async fn nobody_decides_their_own_entry_and_others_are_refused() {
    let app = TestApp::strict_with_demo().await;
    let org = org(&app).await;
    let (id, entries) = open(&app, &org.paul).await;
    let priya = entry(&entries, &org.priya.actor, "lead");
    let ada = entry(&entries, &org.ada.actor, "admin");
    let keep = json!({"decision": "keep", "note": "still leads checkout"});

    for (who, e) in [(&org.priya, priya), (&org.ada, ada)] {
        let (status, body) = as_person(&app, who, "POST", &decision_uri(id, e), Some(keep.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "self-review by {}: {body}", who.actor);
        assert!(body.to_string().contains("your own access"), "{body}");
    }
    // Not the reviewer group: an engineer, an auditor, the lead of another team, an API token.
    for who in [&org.liam, &org.grace, &org.ingrid] {
        let (status, body) = as_person(&app, who, "POST", &decision_uri(id, priya), Some(keep.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {body}", who.actor);
    }
    let (status, _) = app
        .call(
            "POST",
            &decision_uri(id, priya),
            Some(&app.admin_token),
            Some(keep.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "tokens do not review");
    // Bad input is refused with the fix, and decides nothing.
    for (bad, says) in [
        (json!({"decision": "drop"}), "keep"),
        (json!({"decision": "revoke", "note": " "}), "note"),
    ] {
        let (status, body) = as_person(&app, &org.omar, "POST", &decision_uri(id, priya), Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    let (status, body) = as_person(&app, &org.omar, "POST", &decision_uri(id, priya), Some(keep.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["decided_by"], org.omar.actor.as_str());
    let (status, _) = as_person(&app, &org.omar, "POST", &decision_uri(id, priya), Some(keep)).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    let decided: i64 = sqlx::query_scalar("SELECT count(*) FROM access_review_entries WHERE decision IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(decided, 1);
}

#[tokio::test]
async fn a_revoke_removes_access_at_once() {
    let app = TestApp::strict_with_demo().await;
    let org = org(&app).await;
    let lead_token = app.token("lead", Some("team-checkout")).await;
    let (status, _) = app.call("GET", "/api/v1/me", Some(&lead_token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (id, entries) = open(&app, &org.paul).await;
    let priya = entry(&entries, &org.priya.actor, "lead");
    let token = entries
        .iter()
        .find(|e| e["kind"] == "token" && e["role"] == "lead")
        .unwrap();

    let revoke = json!({"decision": "revoke", "note": "moved to the platform team"});
    let (status, body) = as_person(&app, &org.omar, "POST", &decision_uri(id, priya), Some(revoke.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Her session ended with the revoke...
    let (status, _) = as_person(&app, &org.priya, "GET", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // ...and signing in again with the same groups no longer makes her a lead.
    let again = sign_in_at(&app, "priya", &["team-checkout-leads"], 1).await;
    let (status, me) = as_person(&app, &again, "GET", "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], json!(["viewer"]), "{me}");
    assert_eq!(me["lead_of"], json!([]));
    let (status, _) = as_person(
        &app,
        &again,
        "PATCH",
        "/api/v1/entities/component/default/checkout",
        Some(json!({"description": "mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer edits her old team's entities");

    let (status, body) = as_person(&app, &org.omar, "POST", &decision_uri(id, token), Some(revoke)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call("GET", "/api/v1/me", Some(&lead_token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token is revoked at once");

    let decided: Vec<(String, Value)> =
        sqlx::query_as("SELECT target, after FROM audit_log WHERE action = 'access_review.decide' ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[0].0, org.priya.actor);
    assert_eq!(decided[0].1["effects"]["sessions_ended"], true);
    assert_eq!(decided[1].1["effects"]["token_revoked"], true);

    // An admin lifts the override: her groups make her a lead again.
    let (_, overrides) = as_person(&app, &org.paul, "GET", "/api/v1/role-overrides", None).await;
    let over = &overrides["items"][0];
    assert_eq!(over["subject"], org.priya.actor.as_str());
    let (status, _) = as_person(
        &app,
        &org.omar,
        "POST",
        &format!("/api/v1/role-overrides/{}/lift", over["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, _) = as_person(
        &app,
        &org.paul,
        "POST",
        &format!("/api/v1/role-overrides/{}/lift", over["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = as_person(&app, &again, "GET", "/api/v1/me", None).await;
    assert_eq!(me["lead_of"], json!(["group:default/team-checkout"]));
}

/// Decides every entry `reviewer` may decide, keeping them.
async fn keep_all(app: &TestApp, id: i64, reviewer: &Person) {
    let (_, detail) = as_person(app, reviewer, "GET", &format!("/api/v1/access-reviews/{id}"), None).await;
    for e in detail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["may_decide"] == true)
    {
        let body = json!({"decision": "keep", "note": "still needed"});
        let (status, answer) = as_person(app, reviewer, "POST", &decision_uri(id, e), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
}

#[tokio::test]
async fn closing_signs_an_attestation_that_openssl_verifies() {
    let app = TestApp::strict_with_demo().await;
    let org = org(&app).await;
    let (id, entries) = open(&app, &org.paul).await;
    let close = format!("/api/v1/access-reviews/{id}/close");
    let (status, body) = as_person(&app, &org.paul, "POST", &close, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "undecided entries: {body}");
    let (status, _) = as_person(&app, &org.omar, "POST", &close, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins close");

    let revoke = json!({"decision": "revoke", "note": "left the company"});
    let ingrid = entry(&entries, &org.ingrid.actor, "lead");
    let (status, _) = as_person(&app, &org.ada, "POST", &decision_uri(id, ingrid), Some(revoke)).await;
    assert_eq!(status, StatusCode::OK);
    keep_all(&app, id, &org.omar).await; // priya's lead role
    keep_all(&app, id, &org.priya).await; // omar's
    keep_all(&app, id, &org.ada).await; // paul, grace, the admin token
    keep_all(&app, id, &org.paul).await; // ada
    let (status, closed) = as_person(&app, &org.paul, "POST", &close, None).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["review"]["status"], "closed");
    let attestation = &closed["attestation"];
    let document = attestation["document"].as_str().unwrap();
    let doc: Value = serde_json::from_str(document).unwrap();
    assert_eq!(doc["review_id"], id);
    assert_eq!(doc["entries"], entries.len());
    assert_eq!(doc["revoked"], 1);
    assert_eq!(doc["closed_by"], org.paul.actor.as_str());
    assert_eq!(attestation["key_fingerprint"], app.ctx.audit.key.fingerprint());

    // The evidence bundle holds the review; its entries.jsonl hashes to the attestation's value
    // and the attestation verifies with stock openssl and the bundle's public key.
    let period = app::access_reviews::evidence::reviews_for_period(
        &app.pool,
        OffsetDateTime::now_utc() - time::Duration::hours(1),
        OffsetDateTime::now_utc() + time::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(period.len(), 1);
    let mut bundle = bearing_evidence::BundleWriter::new(Vec::new());
    let written = app::access_reviews::evidence::write_reviews(&mut bundle, &period).unwrap();
    assert_eq!(written, entries.len() as u64);
    let info = bearing_evidence::BundleInfo {
        generated_at: OffsetDateTime::now_utc(),
        period_start: OffsetDateTime::now_utc() - time::Duration::hours(1),
        period_end: OffsetDateTime::now_utc() + time::Duration::hours(1),
        requested_by: "test".into(),
        sampling: None,
    };
    let zip = bundle.finish(&app.ctx.audit.key, &info).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bundle.zip"), zip).unwrap();
    let unzip = Command::new("unzip")
        .arg("-q")
        .arg("bundle.zip")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(unzip.success());
    let review_dir = dir.path().join(format!("access_reviews/{id}"));
    let signed = std::fs::read_to_string(review_dir.join("attestation.json")).unwrap();
    assert_eq!(signed, document);
    assert_eq!(std::fs::read(review_dir.join("attestation.sig")).unwrap().len(), 64);
    let jsonl = std::fs::read(review_dir.join("entries.jsonl")).unwrap();
    assert_eq!(
        doc["entries_sha256"].as_str().unwrap(),
        app::access_reviews::attestation::sha256_hex(&jsonl)
    );
    let csv = std::fs::read_to_string(review_dir.join("entries.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "entry_id,kind,subject,subject_label,role,team,granted_via,last_seen_at,reviewer,decision,note,decided_by,decided_at,review_id"
    );
    let ingrid_row = rows
        .clone()
        .find(|r| r.contains(&org.ingrid.actor))
        .expect("ingrid's row");
    assert!(
        ingrid_row.contains(
            ",lead,group:default/team-fulfilment,IdP group `team-fulfilment-leads` via the `<team>-leads` convention,"
        ),
        "{ingrid_row}"
    );
    assert!(
        ingrid_row.contains(&format!(",admins,revoke,left the company,{},", org.ada.actor)),
        "{ingrid_row}"
    );
    assert_eq!(rows.count(), entries.len());
    assert!(std::fs::read_to_string(dir.path().join("access_reviews/reviews.csv"))
        .unwrap()
        .contains(&format!("\r\n{id},all,closed,")));

    let verify = |file: &str| {
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signing-key.pub.pem",
                "-rawin",
                "-in",
            ])
            .arg(format!("access_reviews/{id}/{file}"))
            .args(["-sigfile", &format!("access_reviews/{id}/attestation.sig")])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let good = verify("attestation.json");
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let mut tampered = signed.into_bytes();
    let at = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[at] = b'2';
    std::fs::write(review_dir.join("tampered.json"), tampered).unwrap();
    let bad = verify("tampered.json");
    assert!(!bad.status.success(), "a one-byte change must not verify");

    // Closed is final.
    let (status, _) = as_person(&app, &org.paul, "POST", &close, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let priya = entry(&entries, &org.priya.actor, "lead");
    let (status, _) = as_person(
        &app,
        &org.priya,
        "POST",
        &decision_uri(id, priya),
        Some(json!({"decision": "keep"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "still not her own");
    let omar = entry(&entries, &org.omar.actor, "lead");
    let (status, _) = as_person(
        &app,
        &org.priya,
        "POST",
        &decision_uri(id, omar),
        Some(json!({"decision": "revoke", "note": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "no decision after the close");
}

#[tokio::test]
async fn the_pages_show_reviews_to_leads_and_refuse_engineers() {
    let app = TestApp::strict_with_demo().await;
    let org = org(&app).await;
    // A name the identity provider lets anyone choose is shown as text, never as markup.
    sign_in(&app, "<img src=x onerror=alert(1)>", &["team-checkout-leads"]).await;
    let (id, _) = open(&app, &org.paul).await;
    let (status, page) = as_person(&app, &org.omar, "GET", &format!("/access-reviews/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the name is on the page"
    );
    assert!(!page.contains("<img src=x"), "and escaped");
    assert!(
        page.contains("Yours to decide"),
        "a lead's entries to decide come first"
    );
    assert!(page.contains("data-test-decide"));
    let (_, list) = as_person(&app, &org.omar, "GET", "/access-reviews", None).await;
    assert!(list.as_str().unwrap().contains(&format!("Review {id}")));
    let (status, _) = as_person(&app, &org.liam, "GET", "/access-reviews", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
