//! Stored HTML injection: every string a catalog file, an editor or the audit log puts on a
//! page holds breakout payloads for each context it could land in, and the rendered pages,
//! parsed by a real HTML5 parser (html5ever, as browsers parse), contain no element, attribute
//! or URL that the page itself did not create.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use scraper::{Html, Selector};
use serde_json::json;

use crate::util::TestApp;

/// One payload per context: `<title>`, `<textarea>`, `<script>` data, double- and single-quoted
/// attributes, `<style>`, SVG `<text>`, plus the markup that CSP alone does not stop (a
/// refresh, a `<base>`, a form, an event handler). Every element it would create carries an
/// id starting with `pwn` or points at `evil.example`.
const PAYLOAD: &str = concat!(
    "</title><h1 id=pwn-title>t</h1>",
    "</textarea><h1 id=pwn-textarea>a</h1>",
    "</script><h1 id=pwn-script>s</h1>",
    "\"><h1 id=pwn-dq>d</h1>",
    "'><h1 id=pwn-sq>q</h1>",
    "</style><h1 id=pwn-style>y</h1>",
    "</text><h1 id=pwn-svg>v</h1>",
    "<meta http-equiv=refresh content=\"0;url=https://evil.example/\">",
    "<base href=\"https://evil.example/\">",
    "<form action=\"https://evil.example/\"><input id=pwn-input></form>",
    "<img id=pwn-img src=x onerror=alert(1)>",
    "<a id=pwn-a href=\"javascript:alert(1)\">x</a>",
);

/// The hostile catalog: a Group, a User, a System, a Component with a link, an annotation, a
/// label and a tag, an API with a definition and a Resource, every free-text field the payload.
/// JSON documents are YAML, and serde_json escapes the payload for us.
fn hostile_catalog() -> String {
    let p = PAYLOAD;
    let docs = [
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": "team-evil", "title": p, "description": p},
            "spec": {"type": "team", "profile": {"displayName": p, "email": "evil@example.com"}, "children": []}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User",
            "metadata": {"name": "mallory", "title": p, "description": p},
            "spec": {"profile": {"displayName": p, "email": "mallory@example.com"}, "memberOf": ["team-evil"]}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System",
            "metadata": {"name": "evil-system", "title": p, "description": p},
            "spec": {"owner": "team-evil"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "evil", "title": p, "description": p,
                "links": [{"url": "https://ok.example/?a=\"><h1 id=pwn-href>", "title": p}],
                "annotations": {"example.com/note": p, "kuma.io/service": p},
                "labels": {"example.com/label": p},
                "tags": ["evil"]},
            "spec": {"type": p, "lifecycle": p, "owner": "team-evil", "system": "evil-system",
                "providesApis": ["evil-api"], "dependsOn": ["resource:evil-db"]}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API",
            "metadata": {"name": "evil-api", "title": p, "description": p},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-evil", "definition": p}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource",
            "metadata": {"name": "evil-db", "title": p, "description": p},
            "spec": {"type": "database", "owner": "team-evil"}}),
    ];
    docs.iter().map(|d| format!("---\n{d}\n")).collect()
}

/// What the page did not create: returns a description of every injected element, attribute
/// or URL found in `html`.
fn injected(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let all = Selector::parse("*").expect("selector");
    let mut found = Vec::new();
    // The document's own title; SVG `<title>` tooltips in the body are other elements.
    let titles = doc.select(&Selector::parse("head > title").expect("selector")).count();
    for el in doc.select(&all) {
        let name = el.value().name();
        let tag = || {
            format!(
                "<{name}{}>",
                el.value()
                    .attrs()
                    .map(|(k, v)| format!(" {k}=\"{v}\""))
                    .collect::<String>()
            )
        };
        if name == "base" || (name == "meta" && el.value().attr("http-equiv").is_some()) {
            found.push(tag());
        }
        for (attr, value) in el.value().attrs() {
            let is_url = matches!(attr, "href" | "src" | "action" | "formaction" | "xlink:href");
            // Where a URL attribute points (a same-origin link may carry the text in its query).
            let target = value.trim_start().to_ascii_lowercase();
            let points_away = [
                "javascript:",
                "https://evil.example",
                "http://evil.example",
                "//evil.example",
            ]
            .iter()
            .any(|p| target.starts_with(p));
            if attr.starts_with("on")
                || (attr == "id" && value.starts_with("pwn"))
                || (is_url && points_away)
                || (attr == "content" && target.contains("url="))
            {
                found.push(tag());
            }
        }
    }
    if titles != 1 {
        found.push(format!("{titles} <title> elements"));
    }
    found
}

/// GET `uri` as `token` (anonymous without one): status and body.
async fn get_page(app: &TestApp, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    app.send(req.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn catalog_and_audit_strings_cannot_inject_markup_into_any_page() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, hostile_catalog()).expect("write catalog");
    let before = app.cache.generation();
    app.import_paths(&[file]).await.expect("the hostile catalog imports");
    app.seen_change(before).await;

    // An edit (description override shown in the edit panel's textarea) and audit rows whose
    // reason and values are the payload.
    let (status, body) = app
        .call(
            "PATCH",
            "/api/v1/entities/component/default/evil",
            Some(&app.admin_token),
            Some(json!({"description": format!("edited {PAYLOAD}"), "reason": PAYLOAD,
                "links": [{"url": "https://ok.example/edited", "title": PAYLOAD}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Mesh state whose control-plane, mesh and service names are the payload, as a hostile
    // control plane would report them (one service mapped to the component by its annotation).
    let control_plane = &PAYLOAD[..90];
    app::mesh::repo::write::upsert_control_plane(&app.pool, control_plane, "http://kuma.test:5681")
        .await
        .expect("control plane");
    let snapshot = app::mesh::repo::write::Snapshot {
        services: vec![app::mesh::repo::write::ServiceRow {
            mesh: PAYLOAD.into(),
            service: PAYLOAD.into(),
            status: "online".into(),
            total: 1,
            online: 1,
            offline: 0,
            partially_degraded: 0,
        }],
        ..Default::default()
    };
    app::mesh::repo::write::replace_state(&app.pool, control_plane, &snapshot, time::OffsetDateTime::now_utc())
        .await
        .expect("mesh state");

    // Callers named by the payload (/admin lists tokens; the header's name is fetched by the browser):
    // names, like the identity provider's claims, come from outside.
    let admin = app.admin_token.clone();
    let lead = app.token("lead", Some("team-evil")).await;
    let named = app::auth::service::create_token(
        &app.ctx,
        &app::auth::guard::Caller::system("test"),
        app::auth::TokenRequest {
            name: PAYLOAD[..100].to_owned(),
            role: "admin".into(),
            team: None,
            expires_days: None,
            ..Default::default()
        },
    )
    .await
    .expect("a token named by the payload")
    .token;

    // An evidence export asked for by the payload-named admin with the payload as its sampling
    // seed (a query string, so from anyone): `/evidence` lists both.
    let seed: String = PAYLOAD.chars().take(120).collect();
    let day = time::OffsetDateTime::now_utc().date();
    let query = format!(
        "/api/v1/evidence?from={}&to={}&sample_seed={}",
        day - time::Duration::days(1),
        day + time::Duration::days(1),
        percent_encoding::utf8_percent_encode(&seed, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, _) = app.call("GET", &query, Some(&named), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an evidence export with the payload as its seed"
    );

    let entities = [
        "/catalog/component/default/evil",
        "/catalog/api/default/evil-api",
        "/catalog/group/default/team-evil",
        "/catalog/user/default/mallory",
        "/catalog/system/default/evil-system",
        "/catalog/resource/default/evil-db",
    ];
    let lists = [
        "/",
        "/catalog",
        "/catalog?kind=component",
        "/catalog?tag=evil",
        "/catalog?q=evil",
        "/search?q=evil",
        "/search?q=%3C%2Ftitle%3E%3Ch1+id%3Dpwn-q%3E",
        "/mesh",
        "/catalog/component/default/%3C%2Ftitle%3E%3Ch1%20id%3Dpwn-404%3E",
    ];
    let privileged = ["/audit", "/admin", "/transfers", "/access-reviews", "/evidence"];
    let mut checked = 0;
    for (viewer, token) in [
        ("anonymous", None),
        ("lead", Some(lead.as_str())),
        ("admin", Some(admin.as_str())),
        ("payload-named admin", Some(named.as_str())),
    ] {
        let pages = entities.iter().chain(&lists).chain(if viewer.ends_with("admin") {
            &privileged[..]
        } else {
            &[]
        });
        for uri in pages {
            let (status, html) = get_page(&app, uri, token).await;
            assert!(
                status == StatusCode::OK || (uri.contains("pwn-404") && status.is_client_error()),
                "{viewer} {uri}: {status}"
            );
            let bad = injected(&html);
            assert!(bad.is_empty(), "{viewer} {uri}: injected {bad:?}\n{html}");
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} pages checked");

    // The payload is on the pages, as text: shown, not interpreted.
    let (_, html) = get_page(&app, "/catalog/component/default/evil", Some(&admin)).await;
    let doc = Html::parse_document(&html);
    let title = doc
        .select(&Selector::parse("head > title").expect("selector"))
        .next()
        .map(|t| t.text().collect::<String>())
        .unwrap_or_default();
    assert!(title.contains("</title><h1 id=pwn-title>"), "title text: {title}");
    let description = doc
        .select(&Selector::parse("textarea[name=description]").expect("selector"))
        .next()
        .map(|t| t.text().collect::<String>())
        .expect("the edit panel's description field");
    assert!(
        description.contains(&format!("edited {PAYLOAD}")),
        "textarea text: {description}"
    );
    let svg_text: String = doc
        .select(&Selector::parse("svg text").expect("selector"))
        .flat_map(|t| t.text())
        .collect();
    let (_, mesh) = get_page(&app, "/mesh", Some(&named)).await;
    let mesh_text: String = Html::parse_document(&mesh).root_element().text().collect();
    assert!(
        mesh_text.contains("Control plane </title><h1 id=pwn-title>"),
        "the control plane's name shows, as text"
    );
    // The caller's name is not in the page at all (pages are shared by rights); the browser
    // fetches it as JSON and sets it as text.
    assert!(
        !mesh_text.contains(&PAYLOAD[..100]),
        "a shared page carries no viewer's name"
    );
    // Graph labels are shortened, so only the payload's start shows, as text.
    assert!(svg_text.contains("</title><h1 id=pwn"), "graph labels: {svg_text}");
}
