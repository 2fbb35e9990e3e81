//! Issue 14: the evidence bundle. A period with known activity exported through the API and
//! checked with the stock tools an auditor has (`sha256sum`, `openssl`, `python3`).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::util::TestApp;

/// Signs a person in through the real login service; returns them as a caller.
async fn sign_in(app: &TestApp, subject: &str, groups: &[&str]) -> app::auth::guard::Caller {
    let claims = app::auth::service::LoginClaims {
        issuer: "http://idp.example".into(),
        subject: subject.into(),
        email: Some(format!("{subject}@example.com")),
        email_verified: true,
        name: Some(subject.into()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    };
    let user = app::auth::service::login(&app.ctx, &app::auth::guard::Caller::default(), &claims)
        .await
        .expect("login");
    app::auth::guard::Caller {
        user: Some(user),
        ..Default::default()
    }
}

/// `GET /api/v1/evidence` with `token`: status and body bytes.
async fn export(app: &TestApp, token: &str, query: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::get(format!("/api/v1/evidence?{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes.to_vec())
}

/// Unzips `bundle` into `dir` with Python's standard library (no `unzip` needed).
fn unzip(bundle: &[u8], dir: &Path) {
    let zip = dir.join("bundle.zip");
    std::fs::write(&zip, bundle).expect("write zip");
    let out = dir.join("b");
    let status = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(&out)
        .status()
        .expect("python3");
    assert!(status.success(), "the bundle is not a zip Python can read");
}

/// Runs `program args` in `dir`: success and output.
fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect(program);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn checks(dir: &Path) -> [(bool, String); 3] {
    [
        run(dir, "sha256sum", &["-c", "SHA256SUMS"]),
        run(
            dir,
            "openssl",
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signing-key.pub.pem",
                "-rawin",
                "-in",
                "SHA256SUMS",
                "-sigfile",
                "SHA256SUMS.sig",
            ],
        ),
        run(dir, "python3", &["audit/verify_chain.py"]),
    ]
}

/// A CSV file of the bundle as header-keyed rows (Python's csv module, as an auditor would).
fn csv_rows(dir: &Path, file: &str) -> Vec<HashMap<String, String>> {
    let script =
        "import csv,json,sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir.join(file))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("rows")
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

fn owner_in(rows: &[HashMap<String, String>], entity: &str) -> String {
    rows.iter()
        .find(|r| r["ref"] == entity)
        .map(|r| r["owner"].clone())
        .unwrap_or_else(|| panic!("{entity} is not in entities.csv"))
}

#[tokio::test]
async fn a_bundle_holds_the_periods_evidence_and_verifies_with_stock_tools() {
    let app = TestApp::with_demo().await;
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let checkout_lead = sign_in(&app, "carol", &["team-checkout-leads"]).await;
    let fulfilment_lead = sign_in(&app, "dave", &["team-fulfilment-leads"]).await;
    let auditor = app.token("auditor", None).await;
    // Dave has one session open (as the server's session store keeps it).
    let dave_id = uuid::Uuid::parse_str(&fulfilment_lead.user.as_ref().expect("dave").id).expect("user id");
    let record = tower_sessions::session::Record {
        id: tower_sessions::session::Id::default(),
        data: std::collections::HashMap::from([(
            app::auth::SESSION_AUTH_KEY.to_owned(),
            serde_json::json!({"user_id": dave_id, "logged_in_at": time::OffsetDateTime::now_utc().unix_timestamp() - 60, "id_token": "t"}),
        )]),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(1),
    };
    sqlx::query("INSERT INTO sessions (id, data, expiry_date) VALUES ('dave-session', $1, $2)")
        .bind(rmp_serde::to_vec(&record).expect("encode"))
        .bind(record.expiry_date)
        .execute(&app.superuser)
        .await
        .expect("session");

    // Known state before the transfer, and the mesh over a past day: a service without mTLS and
    // a declared dependency the mesh denies.
    let day = (start - time::Duration::days(0)).date();
    sqlx::query(
        "INSERT INTO mesh_daily_services (day, control_plane, mesh, service, component, mtls_enabled, mtls_mode)
         VALUES ($1, 'default', 'default', 'checkout', 'component:default/checkout', false, NULL),
                ($1, 'default', 'default', 'payments', 'component:default/payments', true, 'STRICT')",
    )
    .bind(day)
    .execute(&app.superuser)
    .await
    .expect("mesh days");
    sqlx::query(
        "INSERT INTO mesh_daily_edges (day, control_plane, mesh, caller, callee, declared, observed, allowed, enforced, policy, class)
         VALUES ($1, 'default', 'default', 'checkout', 'payments', true, true, false, true, NULL, 'declared_denied'),
                ($1, 'default', 'default', 'web', 'checkout', true, true, true, true, 'allow-web', 'healthy')",
    )
    .bind(day)
    .execute(&app.superuser)
    .await
    .expect("mesh edges");
    // A token nobody used for 200 days.
    sqlx::query(
        "INSERT INTO api_tokens (name, token_hash, prefix, role, created_by, created_at, expires_at)
         VALUES ('old-deploy-bot', '\\x01', 'brg_old', 'admin', 'user:http://idp.example#gone', now() - interval '200 days', now() + interval '30 days')",
    )
    .execute(&app.superuser)
    .await
    .expect("old token");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before_transfer = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let outcome = app::catalog::ownership::service::transfer(
        &app.ctx,
        &checkout_lead,
        "component:default/checkout",
        "team-fulfilment",
        "fulfilment runs it now",
    )
    .await
    .expect("request");
    app::catalog::ownership::service::decide(&app.ctx, &fulfilment_lead, outcome.transfer.id, true)
        .await
        .expect("accept");

    // An access review of team-checkout, completed in the period: carol's lead role is revoked.
    sqlx::query("INSERT INTO role_mappings (idp_group, role) VALUES ('admins', 'admin')")
        .execute(&app.superuser)
        .await
        .expect("admin mapping");
    let admin = sign_in(&app, "erin", &["admins"]).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let review = app::access_reviews::service::open_review(
        &app.ctx,
        &admin,
        app::access_reviews::OpenReviewRequest {
            scope: Some("team-checkout".into()),
            due_on: today,
        },
    )
    .await
    .expect("open a review");
    let carol_entry = review
        .entries
        .iter()
        .find(|e| e.subject == "user:http://idp.example#carol" && e.role == "lead")
        .expect("carol's lead role is under review");
    app::access_reviews::service::decide_entry(
        &app.ctx,
        &admin,
        review.review.id,
        carol_entry.id,
        app::access_reviews::DecisionRequest {
            decision: "revoke".into(),
            note: Some("moved to fulfilment".into()),
        },
    )
    .await
    .expect("revoke");
    for e in review
        .entries
        .iter()
        .filter(|e| e.id != carol_entry.id && e.reviewer != "unassigned")
    {
        app::access_reviews::service::decide_entry(
            &app.ctx,
            &admin,
            review.review.id,
            e.id,
            app::access_reviews::DecisionRequest {
                decision: "keep".into(),
                note: None,
            },
        )
        .await
        .expect("keep");
    }
    app::access_reviews::service::close_review(&app.ctx, &admin, review.review.id)
        .await
        .expect("close");

    let end = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let query = format!("from={}&to={}&sample_seed=q4-audit", rfc3339(start), rfc3339(end)).replace('+', "%2B");
    let (status, bundle) = export(&app, &auditor, &query).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bundle));
    assert!(bundle.starts_with(b"PK"), "a zip");
    let tmp = tempfile::tempdir().expect("tmp");
    unzip(&bundle, tmp.path());
    let dir = tmp.path().join("b");

    // Every fixed file is there, and the stock tools pass.
    for file in [
        "populations/entities.csv",
        "populations/users_and_roles.csv",
        "populations/role_mappings.csv",
        "populations/api_tokens.csv",
        "changes/ownership_transfers.csv",
        "changes/entity_edits.csv",
        "changes/imports.csv",
        "changes/mesh_policy_changes.csv",
        "mesh/mtls_state.csv",
        "mesh/permitted_edges.csv",
        "mesh/drift.csv",
        "delivery/deployments.csv",
        "exceptions.csv",
        "controls.csv",
        "_meta/populations.json",
        "report.html",
        "audit/audit_log.jsonl",
        "audit/checkpoints.jsonl",
        "audit/verify_chain.py",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "signing-key.pub.pem",
        "VERIFY.md",
        "samples/entities.csv",
    ] {
        assert!(dir.join(file).is_file(), "{file} is missing");
    }
    for (ok, output) in checks(&dir) {
        assert!(ok, "a stock check fails on an untouched bundle:\n{output}");
    }

    // The rows the activity must have produced.
    let entities = csv_rows(&dir, "populations/entities.csv");
    assert_eq!(
        owner_in(&entities, "component:default/checkout"),
        "group:default/team-fulfilment"
    );
    let transfers = csv_rows(&dir, "changes/ownership_transfers.csv");
    let t = transfers
        .iter()
        .find(|t| t["id"] == outcome.transfer.id.to_string())
        .expect("the transfer");
    assert_eq!(t["status_at_end"], "accepted");
    assert_eq!(t["decided_by"], "user:http://idp.example#dave");
    assert_eq!(t["four_eyes_held"], "yes");
    assert_eq!(t["approver_roles_at_decision"], "lead of group:default/team-fulfilment");
    let people = csv_rows(&dir, "populations/users_and_roles.csv");
    let carol = people
        .iter()
        .find(|p| p["actor"] == "user:http://idp.example#carol" && p["role"] == "lead")
        .expect("carol's lead role");
    assert_eq!(carol["team"], "group:default/team-checkout");
    assert!(carol["granted_via"].contains("team-checkout-leads"), "{carol:?}");
    assert!(
        !carol["revoked_at"].is_empty(),
        "the review's revoke ends carol's lead role: {carol:?}"
    );
    let review_dir = dir.join(format!("access_reviews/{}", review.review.id));
    let (ok, out) = run(
        &review_dir,
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "../../signing-key.pub.pem",
            "-rawin",
            "-in",
            "attestation.json",
            "-sigfile",
            "attestation.sig",
        ],
    );
    assert!(ok, "the review's attestation verifies with the bundle's key: {out}");
    let reviews_control = csv_rows(&dir, "controls.csv")
        .into_iter()
        .find(|c| c["control"] == "access_reviews")
        .expect("access review control");
    assert_eq!(
        reviews_control["exceptions"], "0",
        "a review was completed in the period, none overdue"
    );
    let dave = people
        .iter()
        .find(|p| p["actor"] == "user:http://idp.example#dave" && p["role"] == "lead")
        .expect("dave's lead role");
    assert_eq!(dave["active_sessions_at_end"], "1");
    assert_eq!(carol["active_sessions_at_end"], "0");
    let exceptions = csv_rows(&dir, "exceptions.csv");
    let kinds: Vec<&str> = exceptions.iter().map(|e| e["kind"].as_str()).collect();
    for kind in [
        "token_unused_90_days",
        "token_outlived_owner_role",
        "service_without_mtls",
        "declared_denied",
    ] {
        assert!(kinds.contains(&kind), "{kind} not flagged: {kinds:?}");
    }
    assert!(!kinds.contains(&"self_approved_transfer"), "{kinds:?}");
    let drift = csv_rows(&dir, "mesh/drift.csv");
    assert_eq!(drift.len(), 1, "only the unhealthy edge: {drift:?}");
    let permitted = csv_rows(&dir, "mesh/permitted_edges.csv");
    assert_eq!(permitted.len(), 1);
    assert_eq!(permitted[0]["policy"], "allow-web");
    let controls = csv_rows(&dir, "controls.csv");
    let mesh = controls.iter().find(|c| c["control"] == "mesh").expect("mesh control");
    assert_eq!(mesh["exceptions"], "2");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("_meta/populations.json")).expect("meta")).expect("json");
    let entities_meta = meta["populations"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["file"] == "populations/entities.csv"))
        .expect("entities in the metadata");
    assert_eq!(entities_meta["rows"], entities.len());
    assert!(entities_meta["query"]
        .as_str()
        .unwrap_or_default()
        .contains("entity_history"));
    let report = std::fs::read_to_string(dir.join("report.html")).expect("report");
    assert!(report.contains("Evidence bundle") && report.contains("declared_denied"));

    // One changed byte in a CSV: sha256sum names it.
    let file = dir.join("populations/entities.csv");
    let mut bytes = std::fs::read(&file).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&file, &bytes).expect("write");
    let [(sums_ok, sums), _, _] = checks(&dir);
    assert!(!sums_ok && sums.contains("populations/entities.csv: FAILED"), "{sums}");
    bytes[at] ^= 0x01;
    std::fs::write(&file, &bytes).expect("restore");

    // One changed audit row: the chain checker fails (and so does sha256sum).
    let log = dir.join("audit/audit_log.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let tampered = text.replacen("fulfilment runs it now", "fulfilment runs it later", 1);
    assert_ne!(text, tampered, "the transfer's reason is in the log");
    std::fs::write(&log, tampered).expect("write");
    let [(sums_ok, _), (sig_ok, _), (chain_ok, chain)] = checks(&dir);
    assert!(!sums_ok && sig_ok && !chain_ok, "{chain}");

    // As of a time before the transfer, the old owner.
    let query = format!("from={}&to={}", rfc3339(start), rfc3339(before_transfer)).replace('+', "%2B");
    let (status, earlier) = export(&app, &auditor, &query).await;
    assert_eq!(status, StatusCode::OK);
    let tmp2 = tempfile::tempdir().expect("tmp");
    unzip(&earlier, tmp2.path());
    let entities = csv_rows(&tmp2.path().join("b"), "populations/entities.csv");
    assert_eq!(
        owner_in(&entities, "component:default/checkout"),
        "group:default/team-checkout"
    );

    // Every export is in the audit log.
    let exports: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'evidence.export'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(exports, 2);
}

#[tokio::test]
async fn samples_follow_the_seed_and_only_auditors_and_admins_export() {
    let app = TestApp::with_demo().await;
    let auditor = app.token("auditor", None).await;
    // A period that ended before the first export: the exports' own audit rows come after the
    // chain head the samples are drawn at, so the same seed must draw the same sample.
    let (from, to) = (
        time::OffsetDateTime::now_utc() - time::Duration::days(2),
        time::OffsetDateTime::now_utc(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let sample = |seed: &'static str| {
        let query = format!("from={}&to={}&sample_seed={seed}", rfc3339(from), rfc3339(to)).replace('+', "%2B");
        let (app, auditor) = (&app, &auditor);
        async move {
            let (status, bundle) = export(app, auditor, &query).await;
            assert_eq!(status, StatusCode::OK);
            let tmp = tempfile::tempdir().expect("tmp");
            unzip(&bundle, tmp.path());
            let rows = csv_rows(&tmp.path().join("b"), "samples/entities.csv");
            rows.into_iter().map(|r| r["ref"].clone()).collect::<Vec<_>>()
        }
    };
    let a = sample("alpha").await;
    assert_eq!(a.len(), 25, "the demo catalog has more than 25 entities");
    assert_eq!(a, sample("alpha").await, "the same seed draws the same sample");
    assert_ne!(a, sample("beta").await, "another seed draws another sample");

    for (role, team) in [("viewer", None), ("lead", Some("team-checkout"))] {
        let token = app.token(role, team).await;
        let (status, _) = export(&app, &token, &format!("from={}&to={}", from.date(), to.date())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    let admin = app.token("admin", None).await;
    let (status, body) = export(&app, &admin, "from=2026-12-01&to=2026-11-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        String::from_utf8_lossy(&body).contains("to"),
        "the error names the field"
    );
}
