//! The HTTP API: Kuma's read endpoints plus the simulator's `/_sim/` control endpoints.

use crate::policies::Writable;
use crate::sim::{Fault, FaultMode, Sim, SimError, State as SimState};
use crate::spec::{ProxyState, TrafficSpec};
use crate::wire::{self, list_body, ApiError, Index};
use crate::writes::{read_only_refusal, Refusal};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bearing_kuma::status::{certificate_state, DEFAULT_EXPIRES_SOON};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Default page size (Kuma's).
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page size Kuma accepts.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Default delay of the `slow` fault.
pub const DEFAULT_SLOW_MS: u64 = 3000;

type Shared = Arc<Sim>;

/// The whole API.
pub fn router(sim: Shared) -> Router {
    let kuma = Router::new()
        .route("/", get(index))
        .route("/_resources", get(resources))
        .route("/meshes", get(meshes))
        .route("/meshes/{mesh}", get(mesh))
        .route("/mesh-insights", get(mesh_insights))
        .route("/mesh-insights/{mesh}", get(mesh_insight))
        .route("/meshes/{mesh}/dataplanes+insights", get(dataplanes))
        .route("/meshes/{mesh}/dataplanes/_overview", get(dataplanes))
        .route("/meshes/{mesh}/dataplanes/{name}/_overview", get(dataplane))
        .route("/meshes/{mesh}/dataplanes/{name}/stats", get(stats))
        .route("/meshes/{mesh}/service-insights", get(service_insights))
        .route("/meshes/{mesh}/service-insights/{name}", get(service_insight))
        .route("/meshes/{mesh}/meshservices", get(mesh_services))
        .route("/meshes/{mesh}/traffic-permissions", get(tps))
        .route("/meshes/{mesh}/traffic-permissions/{name}", get(tp));
    let kuma = crate::policies::WRITABLE
        .iter()
        .fold(kuma, |router, w| {
            router
                .route(
                    &format!("/meshes/{{mesh}}/{}", w.path),
                    get(move |st, path, uri, headers| list_kind(st, path, uri, headers, w)),
                )
                .route(
                    &format!("/meshes/{{mesh}}/{}/{{name}}", w.path),
                    get(move |st, path| get_kind(st, path, w))
                        .put(move |st, path, body| put_kind(st, path, body, w))
                        .delete(move |st, path| delete_kind(st, path, w)),
                )
        })
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(crate::writes::MAX_BODY))
        .layer(middleware::from_fn_with_state(sim.clone(), faults));
    let control = Router::new()
        .route("/_sim/proxies/{mesh}/{name}/{action}", post(proxy_action))
        .route("/_sim/meshes/{mesh}/mtls", post(set_mtls))
        .route("/_sim/traffic", post(set_traffic))
        .route("/_sim/fault", post(set_fault).get(get_fault))
        .route("/_sim/read-only", post(set_read_only))
        .route("/_sim/reset", post(reset))
        .route("/_sim/world", get(world));
    control.merge(kuma).with_state(sim)
}

// ------------------------------------------------------------------------------------------
// Responses

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(crate) fn kuma_error(status: u16, title: &str, detail: &str, invalid: &[(&str, String)]) -> Response {
    let body = serde_json::to_string(&ApiError::new(status, title, detail, invalid)).expect("serialisable");
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
}

fn not_found_resource() -> Response {
    kuma_error(404, "Could not retrieve a resource", "Not found", &[])
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404: Page Not Found").into_response()
}

fn control_error(e: SimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({ "error": e.message }))).into_response()
}

// ------------------------------------------------------------------------------------------
// Paging, exactly like Kuma: `size` (default 100, at most 1000), numeric `offset`, and `next` the
// request's own URL with `offset` replaced and the query re-encoded with sorted keys (Go's
// `url.Values.Encode`).

struct Page {
    offset: usize,
    size: usize,
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `url.QueryEscape`.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn page(uri: &Uri) -> Result<Page, Box<Response>> {
    let pairs = query_pairs(uri);
    let bad = |detail: &str, field: &str, reason: String| {
        Box::new(kuma_error(
            400,
            "Could not retrieve resources",
            detail,
            &[(field, reason)],
        ))
    };
    let size = match query_value(&pairs, "size").filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<i64>() {
            Err(_) => return Err(bad("Invalid page size", "size", "invalid format".into())),
            Ok(n) if n > MAX_PAGE_SIZE as i64 => {
                let reason = format!("invalid page size of {n}. Maximum page size is {MAX_PAGE_SIZE}");
                return Err(bad("Invalid page size", "size", reason));
            }
            Ok(n) if n < 1 => {
                let reason = format!("invalid page size of {n}. Minimum page size is 1");
                return Err(bad("Invalid page size", "size", reason));
            }
            Ok(n) => n as usize,
        },
    };
    let offset = match query_value(&pairs, "offset").filter(|s| !s.is_empty()) {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| bad("Invalid offset", "offset", "Invalid format".into()))?,
    };
    Ok(Page { offset, size })
}

fn next_url(uri: &Uri, headers: &HeaderMap, next_offset: usize) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost:5681".to_string());
    let mut pairs: Vec<(String, String)> = query_pairs(uri).into_iter().filter(|(k, _)| k != "offset").collect();
    pairs.push(("offset".into(), next_offset.to_string()));
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect();
    format!("http://{host}{}?{}", uri.path(), query.join("&"))
}

fn list_response<S: AsRef<str>>(uri: &Uri, headers: &HeaderMap, items: &[S]) -> Response {
    let p = match page(uri) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let total = items.len();
    let start = p.offset.min(total);
    let end = start.saturating_add(p.size).min(total);
    let next = (end < total).then(|| next_url(uri, headers, end));
    json_response(StatusCode::OK, list_body(total, &items[start..end], next.as_deref()))
}

// ------------------------------------------------------------------------------------------
// Kuma endpoints

async fn index(State(sim): State<Shared>) -> Response {
    let body = serde_json::to_string(&Index::new(&sim.lock())).expect("serialisable");
    json_response(StatusCode::OK, body)
}

/// `GET /_resources`: the types the simulator serves, with Kuma's entries (golden
/// `_resources.golden.json`), sorted by name like `MapResourceTypeDescription`. With the API
/// read-only every entry says `readOnly: true` (Kuma passes `cfg.ApiServer.ReadOnly` into each).
async fn resources(State(sim): State<Shared>) -> Response {
    let (mesh_services, service_insights, read_only) = {
        let st = sim.lock();
        (st.cp.mesh_services_api, st.cp.service_insights_api, st.cp.read_only)
    };
    let policy = |from: bool, to: bool, rules: bool, target_ref: bool| {
        json!({"hasFromTargetRef": from, "hasRulesTargetRef": rules, "hasToTargetRef": to,
               "isFromAsRules": false, "isTargetRef": target_ref})
    };
    let entry = |name: &str, path: &str, plural: &str, scope: &str, short: &str, fed: bool, singular: &str| {
        json!({"includeInFederation": fed, "name": name, "path": path, "pluralDisplayName": plural,
               "readOnly": read_only, "scope": scope, "shortName": short, "singularDisplayName": singular})
    };
    let mut list = vec![
        entry(
            "Dataplane",
            "dataplanes",
            "Dataplanes",
            "Mesh",
            "dp",
            false,
            "Dataplane",
        ),
        entry("Mesh", "meshes", "Meshes", "Global", "m", true, "Mesh"),
    ];
    if mesh_services {
        list.push(entry(
            "MeshService",
            "meshservices",
            "Mesh Services",
            "Mesh",
            "msvc",
            false,
            "Mesh Service",
        ));
    }
    if service_insights {
        // An insight is read-only whatever the setting.
        let mut si = entry(
            "ServiceInsight",
            "service-insights",
            "Service Insights",
            "Mesh",
            "",
            false,
            "Service Insight",
        );
        si["readOnly"] = json!(true);
        list.push(si);
    }
    list.extend(crate::policies::WRITABLE.iter().map(|w| w.resource_entry(read_only)));
    let mut tp = entry(
        "TrafficPermission",
        "traffic-permissions",
        "Traffic Permissions",
        "Mesh",
        "",
        true,
        "Traffic Permission",
    );
    tp["policy"] = policy(false, false, false, false);
    list.push(tp);
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json_response(StatusCode::OK, json!({ "resources": list }).to_string())
}

async fn meshes(State(sim): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let views = sim.lock().views();
    list_response(&uri, &headers, &views.meshes)
}

async fn mesh(State(sim): State<Shared>, Path(mesh): Path<String>) -> Response {
    let mut st = sim.lock();
    let Some(i) = st.meshes.iter().position(|m| m.spec.name == mesh) else {
        return not_found_resource();
    };
    json_response(StatusCode::OK, st.views().meshes[i].clone())
}

async fn mesh_insights(State(sim): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let views = sim.lock().views();
    list_response(&uri, &headers, &views.mesh_insights)
}

async fn mesh_insight(State(sim): State<Shared>, Path(mesh): Path<String>) -> Response {
    let mut st = sim.lock();
    let Some(i) = st.meshes.iter().position(|m| m.spec.name == mesh) else {
        return not_found_resource();
    };
    json_response(StatusCode::OK, st.views().mesh_insights[i].clone())
}

/// `dataplanes+insights` / `dataplanes/_overview` filters: `gateway` (`true`, `false`, `builtin`,
/// `delegated`), `tag=key:value` (repeatable; the value matches as a substring, like Kuma), `name`
/// (substring).
fn dataplane_matches(st: &SimState, index: usize, pairs: &[(String, String)]) -> bool {
    let p = &st.proxies[index];
    let service = &st.services[p.service];
    for (key, value) in pairs {
        let ok = match key.as_str() {
            "gateway" => match (value.as_str(), service.spec.gateway) {
                ("true", g) => g.is_some(),
                ("false", g) => g.is_none(),
                ("builtin", g) => g == Some(crate::spec::GatewayKind::Builtin),
                ("delegated", g) => g == Some(crate::spec::GatewayKind::Delegated),
                _ => true,
            },
            "name" => p.name.contains(value.as_str()),
            "tag" => {
                let (k, v) = value.split_once(':').unwrap_or((value.as_str(), ""));
                let tag = match k {
                    "kuma.io/service" => Some(service.spec.name.as_str()),
                    "kuma.io/protocol" => Some(service.spec.protocol.as_str()),
                    other => service.spec.tags.get(other).map(String::as_str),
                };
                tag.is_some_and(|t| t.contains(v))
            }
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

async fn dataplanes(State(sim): State<Shared>, Path(mesh): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let mut st = sim.lock();
    let views = st.views();
    let range = views.mesh_ranges.get(&mesh).cloned().unwrap_or(0..0);
    let pairs: Vec<(String, String)> = query_pairs(&uri)
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "gateway" | "name" | "tag"))
        .collect();
    if pairs.is_empty() {
        drop(st);
        return list_response(&uri, &headers, &views.overviews[range]);
    }
    let items: Vec<&String> = range
        .filter(|&i| dataplane_matches(&st, i, &pairs))
        .map(|i| &views.overviews[i])
        .collect();
    drop(st);
    list_response(&uri, &headers, &items)
}

async fn dataplane(State(sim): State<Shared>, Path((mesh, name)): Path<(String, String)>) -> Response {
    let mut st = sim.lock();
    let Some(i) = st.proxy_index(&mesh, &name) else {
        return not_found_resource();
    };
    json_response(StatusCode::OK, st.views().overviews[i].clone())
}

async fn stats(State(sim): State<Shared>, Path((mesh, name)): Path<(String, String)>, uri: Uri) -> Response {
    let t = sim.now_s();
    let st = sim.lock();
    let Some(i) = st.proxy_index(&mesh, &name) else {
        return kuma_error(404, "Could not get dataplane resource", "Not found", &[]);
    };
    if !st.proxies[i].state.connected() {
        // Kuma cannot reach the proxy's Envoy admin API.
        return kuma_error(500, "Could not execute admin operation", "Internal Server Error", &[]);
    }
    let as_json = query_pairs(&uri).iter().any(|(k, v)| k == "format" && v == "json");
    if as_json {
        json_response(StatusCode::OK, crate::envoy::stats_json(&st, i, t))
    } else {
        let mut response = (StatusCode::OK, crate::envoy::stats_text(&st, i, t)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }
}

async fn service_insights(
    State(sim): State<Shared>,
    Path(mesh): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !sim.lock().cp.service_insights_api {
        return not_found().await;
    }
    let views = sim.lock().views();
    let all = views.service_insights.get(&mesh).map(Vec::as_slice).unwrap_or(&[]);
    let pairs = query_pairs(&uri);
    match query_value(&pairs, "type").filter(|t| !t.is_empty()) {
        None => list_response(&uri, &headers, all),
        Some(types) => {
            let wanted: Vec<&str> = types.split(',').map(str::trim).collect();
            let items: Vec<&String> = all
                .iter()
                .filter(|item| {
                    let v: serde_json::Value = serde_json::from_str(item).unwrap_or_default();
                    let kind = v.get("serviceType").and_then(|t| t.as_str()).unwrap_or("internal");
                    wanted.contains(&kind)
                })
                .collect();
            list_response(&uri, &headers, &items)
        }
    }
}

fn find_named<'a>(items: &'a [String], name: &str) -> Option<&'a String> {
    let needle = format!("\"name\":{}", serde_json::to_string(name).expect("serialisable"));
    items.iter().find(|item| item.contains(&needle))
}

async fn service_insight(State(sim): State<Shared>, Path((mesh, name)): Path<(String, String)>) -> Response {
    if !sim.lock().cp.service_insights_api {
        return not_found().await;
    }
    let views = sim.lock().views();
    let item = views
        .service_insights
        .get(&mesh)
        .and_then(|items| find_named(items, &name));
    match item {
        Some(item) => json_response(StatusCode::OK, item.clone()),
        None => not_found_resource(),
    }
}

async fn mesh_services(State(sim): State<Shared>, Path(mesh): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let mut st = sim.lock();
    if !st.cp.mesh_services_api {
        return (StatusCode::NOT_FOUND, "404: Page Not Found").into_response();
    }
    let views = st.views();
    drop(st);
    let items = views.mesh_services.get(&mesh).map(Vec::as_slice).unwrap_or(&[]);
    list_response(&uri, &headers, items)
}

async fn list_kind(
    State(sim): State<Shared>,
    Path(mesh): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    w: &'static Writable,
) -> Response {
    let items = wire::resources_json(&sim.lock(), &mesh, w.kind);
    list_response(&uri, &headers, &items)
}

async fn get_kind(
    State(sim): State<Shared>,
    Path((mesh, name)): Path<(String, String)>,
    w: &'static Writable,
) -> Response {
    let items = wire::resources_json(&sim.lock(), &mesh, w.kind);
    match find_named(&items, &name) {
        Some(item) => json_response(StatusCode::OK, item.clone()),
        None => not_found_resource(),
    }
}

fn refusal(r: &Refusal) -> Response {
    let body = serde_json::to_string(&r.body()).expect("serialisable");
    json_response(StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST), body)
}

async fn put_kind(
    State(sim): State<Shared>,
    Path((mesh, name)): Path<(String, String)>,
    body: Bytes,
    w: &'static Writable,
) -> Response {
    if sim.lock().cp.read_only {
        return refusal(&read_only_refusal());
    }
    match sim.change(|st, t| Ok(st.put_resource(w, &mesh, &name, &body, t))) {
        Ok(Ok(written)) => json_response(
            StatusCode::from_u16(written.status).unwrap_or(StatusCode::OK),
            written.body().to_string(),
        ),
        Ok(Err(r)) => refusal(&r),
        Err(e) => control_error(e),
    }
}

async fn delete_kind(
    State(sim): State<Shared>,
    Path((mesh, name)): Path<(String, String)>,
    w: &'static Writable,
) -> Response {
    if sim.lock().cp.read_only {
        return refusal(&read_only_refusal());
    }
    match sim.change(|st, _| Ok(st.delete_resource(w, &mesh, &name))) {
        Ok(Ok(())) => json_response(StatusCode::OK, "{}".to_string()),
        Ok(Err(r)) => refusal(&r),
        Err(e) => control_error(e),
    }
}

async fn tps(State(sim): State<Shared>, Path(mesh): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let items = wire::tps_json(&sim.lock(), &mesh);
    list_response(&uri, &headers, &items)
}

async fn tp(State(sim): State<Shared>, Path((mesh, name)): Path<(String, String)>) -> Response {
    let items = wire::tps_json(&sim.lock(), &mesh);
    match find_named(&items, &name) {
        Some(item) => json_response(StatusCode::OK, item.clone()),
        None => not_found_resource(),
    }
}

// ------------------------------------------------------------------------------------------
// Faults (every route above; never `/_sim/`)

async fn faults(State(sim): State<Shared>, request: Request, next: Next) -> Response {
    let fault = sim.fault();
    let delay = match fault.mode {
        FaultMode::Slow => Some(fault.delay_ms.unwrap_or(DEFAULT_SLOW_MS)),
        _ => fault.delay_ms,
    };
    if let Some(ms) = delay.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let stats = request.uri().path().ends_with("/stats");
    match fault.mode {
        FaultMode::None | FaultMode::Slow => next.run(request).await,
        FaultMode::Hang => std::future::pending::<Response>().await,
        FaultMode::Error500 => {
            let title = if stats {
                "Could not execute admin operation"
            } else {
                "Could not retrieve resources"
            };
            kuma_error(500, title, "Internal Server Error", &[])
        }
        FaultMode::Garbage => {
            if stats {
                let mut response = (
                    StatusCode::OK,
                    "cluster.localhost_8080.upstream_rq_total 17\n<html><body>upstream connect error</body>\n\u{0}\u{7f}",
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                response
            } else {
                json_response(
                    StatusCode::OK,
                    "{\"total\": 3, \"items\": [{\"type\": \"DataplaneOverview\", \"mesh\": \"default\", \"name\": \"ga"
                        .to_string(),
                )
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Control endpoints

async fn proxy_action(
    State(sim): State<Shared>,
    Path((mesh, name, action)): Path<(String, String, String)>,
) -> Response {
    let target = match action.as_str() {
        "offline" => ProxyState::Offline,
        "online" => ProxyState::Online,
        "degraded" => ProxyState::PartiallyDegraded,
        _ => {
            return control_error(SimError {
                status: 404,
                message: format!("unknown action {action:?}: use offline, online or degraded"),
            })
        }
    };
    match sim.change(|st, t| st.set_proxy_state(&mesh, &name, target, t)) {
        Ok(()) => {
            let st = sim.lock();
            let state = st.proxy_index(&mesh, &name).map(|i| st.proxies[i].state);
            (
                StatusCode::OK,
                Json(json!({"mesh": mesh, "name": name, "state": state.map(|s| s.to_string())})),
            )
                .into_response()
        }
        Err(e) => control_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MtlsBody {
    enabled: bool,
}

async fn set_mtls(State(sim): State<Shared>, Path(mesh): Path<String>, body: Json<MtlsBody>) -> Response {
    let enabled = body.enabled;
    match sim.change(|st, t| st.set_mtls(&mesh, enabled, t)) {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"mesh": mesh, "mtls": {"enabled": enabled}})),
        )
            .into_response(),
        Err(e) => control_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrafficBody {
    from: String,
    to: String,
    #[serde(default)]
    mesh: Option<String>,
    rps: f64,
    #[serde(default, alias = "errorRatio")]
    error_ratio: f64,
}

async fn set_traffic(State(sim): State<Shared>, body: Json<TrafficBody>) -> Response {
    let Json(b) = body;
    let spec = TrafficSpec {
        from: b.from,
        to: b.to,
        mesh: b.mesh,
        rps: b.rps,
        error_ratio: b.error_ratio,
        declared: None,
    };
    let echo = serde_json::to_value(&spec).expect("serialisable");
    match sim.change(|st, _| st.set_traffic(spec)) {
        Ok(()) => (StatusCode::OK, Json(echo)).into_response(),
        Err(e) => control_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadOnlyBody {
    enabled: bool,
}

/// `POST /_sim/read-only {"enabled": bool}`: a Kubernetes control plane (writes 405) or not.
async fn set_read_only(State(sim): State<Shared>, body: Json<ReadOnlyBody>) -> Response {
    sim.lock().cp.read_only = body.enabled;
    (StatusCode::OK, Json(json!({"readOnly": body.enabled}))).into_response()
}

async fn set_fault(State(sim): State<Shared>, body: Json<Fault>) -> Response {
    sim.set_fault(body.0);
    (StatusCode::OK, Json(body.0)).into_response()
}

async fn get_fault(State(sim): State<Shared>) -> Response {
    (StatusCode::OK, Json(sim.fault())).into_response()
}

async fn reset(State(sim): State<Shared>) -> Response {
    match sim.reset() {
        Ok(()) => (StatusCode::OK, Json(json!({"reset": true}))).into_response(),
        Err(e) => control_error(e),
    }
}

/// `GET /_sim/world`: the world in world-file form plus what Kuma's rules make of it.
async fn world(State(sim): State<Shared>) -> Response {
    let t = sim.now_s();
    let mut st = sim.lock();
    let views = st.views();
    let now = st.wall(t);
    let proxies: Vec<_> = st
        .proxies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cert = certificate_state(views.models[i].dataplane_insight.as_ref(), now, DEFAULT_EXPIRES_SOON);
            json!({
                "mesh": p.mesh,
                "name": p.name,
                "service": st.services[p.service].spec.name,
                "state": p.state.to_string(),
                "status": views.statuses[i].as_str(),
                "certificate": {"state": cert.as_str(), "expiresAt": cert.expires_at().map(wire::ts)},
                "uptimeSeconds": p.state.connected().then(|| (t - p.envoy_start_s).max(0.0).floor()),
            })
        })
        .collect();
    let traffic: Vec<_> = st
        .traffic
        .iter()
        .map(|x| {
            let verdict = st.verdict(&x.mesh, x.from, x.to);
            let allowed = verdict.delivers();
            let receivers = st.services[x.to]
                .proxies
                .iter()
                .filter(|&&i| st.proxies[i].state.connected())
                .count();
            json!({
                "mesh": x.mesh, "from": x.spec.from, "to": x.spec.to, "rps": x.spec.rps,
                "errorRatio": x.spec.error_ratio, "declared": x.spec.declared,
                "allowed": allowed, "delivered": allowed && receivers > 0,
                "verdict": format!("{verdict:?}").to_lowercase(),
            })
        })
        .collect();
    let body = json!({
        "startedAt": wire::ts(st.epoch),
        "now": wire::ts(now),
        "fault": st.fault,
        "world": st.world_spec(),
        "proxies": proxies,
        "traffic": traffic,
    });
    (StatusCode::OK, Json(body)).into_response()
}
