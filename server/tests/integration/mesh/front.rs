//! A Kuma control plane that misbehaves on demand: kuma-sim's router behind a front that records
//! every request it gets and, when told, points `next` links or redirects at another server,
//! answers with a body of 100 MiB, or serves names that no URL path can carry as they are.
//! kuma-sim itself stays faithful to Kuma (whose names could not hold `/` or `?`); the
//! misbehaviour lives only here.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use kuma_sim::clock::Clock;
use kuma_sim::{Sim, WorldSpec};
use tower::ServiceExt;

/// Size of a huge answer.
pub const HUGE: u64 = 100 * 1024 * 1024;

/// What the front does besides forwarding to the sim.
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// Nothing: the sim's answers as they are (renamed, if names are renamed).
    #[default]
    Faithful,
    /// `GET /meshes` links its next page to this origin.
    ForeignNext(String),
    /// `GET /meshes` redirects to this origin.
    ForeignRedirect(String),
    /// Requests whose path ends with `suffix` get [`HUGE`] bytes, with or without a
    /// `Content-Length` saying so.
    Huge {
        /// E.g. `/dataplanes+insights` or `/stats`.
        suffix: &'static str,
        /// Whether `Content-Length` announces the size.
        declared: bool,
    },
}

/// One request the front got.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Path and query as they arrived (percent-encoded).
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

#[derive(Clone)]
struct Shared {
    sim: Router,
    /// `(sim name, name served instead)`.
    renames: Arc<Vec<(String, String)>>,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Most bytes handed to a connection for one huge answer.
    largest_huge: Arc<AtomicU64>,
}

/// A running front.
pub struct Front {
    /// Its base URL.
    pub url: String,
    shared: Shared,
}

impl Front {
    /// Serves `world` behind a front that serves each sim name in `renames` as its new name.
    pub async fn start(world: WorldSpec, clock: Arc<dyn Clock>, renames: &[(&str, &str)]) -> Front {
        let sim = Arc::new(Sim::new(world, clock).expect("world"));
        let shared = Shared {
            sim: kuma_sim::router(sim),
            renames: Arc::new(
                renames
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect(),
            ),
            mode: Arc::default(),
            seen: Arc::default(),
            largest_huge: Arc::default(),
        };
        let app = Router::new().fallback(front).with_state(shared.clone());
        Front {
            url: serve(app).await,
            shared,
        }
    }

    /// From now on, misbehave so.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("mode") = mode;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("seen").clone()
    }

    /// Most bytes handed to a connection for one huge answer so far.
    pub fn largest_huge(&self) -> u64 {
        self.shared.largest_huge.load(Ordering::SeqCst)
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn record(seen: &Mutex<Vec<Seen>>, request: &Request) {
    seen.lock().expect("seen").push(Seen {
        path: request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        authorization: request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
}

/// A server that records what it gets and answers every request with an empty Kuma list: were
/// the poller to follow a link here, its poll would go on as if nothing happened.
pub async fn recorder() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |request: Request| {
        let log = log.clone();
        async move {
            record(&log, &request);
            json(r#"{"total": 0, "items": [], "next": null}"#.to_owned())
        }
    });
    (serve(app).await, seen)
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn front(State(st): State<Shared>, mut request: Request) -> Response {
    record(&st.seen, &request);
    let mode = st.mode.lock().expect("mode").clone();
    let path = request.uri().path().to_owned();
    match &mode {
        Mode::Huge { suffix, declared } if path.ends_with(suffix) => return huge(st.largest_huge.clone(), *declared),
        Mode::ForeignRedirect(origin) if path == "/meshes" => {
            let location = format!("{origin}/meshes");
            return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
        }
        _ => {}
    }
    *request.uri_mut() = to_sim(&request, &st.renames);
    let response = st
        .sim
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    let (mut parts, body) = response.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return Response::from_parts(parts, body);
    }
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("sim body");
    let mut text = String::from_utf8(bytes.to_vec()).expect("sim JSON is UTF-8");
    for (sim_name, served) in st.renames.iter() {
        let quoted = serde_json::to_string(served).expect("a string");
        text = text.replace(&format!("\"{sim_name}\""), &quoted);
    }
    if let Mode::ForeignNext(origin) = &mode {
        if path == "/meshes" {
            let mut list: serde_json::Value = serde_json::from_str(&text).expect("a list");
            list["next"] = format!("{origin}/meshes?offset=1&size=1000").into();
            text = list.to_string();
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}

/// The request's URI with every path segment that (decoded) is a served name put back as the
/// sim's name.
fn to_sim(request: &Request, renames: &[(String, String)]) -> Uri {
    let uri = request.uri();
    let path: Vec<String> = uri
        .path()
        .split('/')
        .map(|segment| {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            renames
                .iter()
                .find(|(_, served)| *served == decoded)
                .map_or_else(|| segment.to_owned(), |(sim_name, _)| sim_name.clone())
        })
        .collect();
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}{query}", path.join("/")).parse().expect("a URI")
}

/// [`HUGE`] bytes of JSON whitespace after the start of a list, made as they are sent (the
/// front never holds them either). `largest` learns how many were handed to the connection.
fn huge(largest: Arc<AtomicU64>, declared: bool) -> Response {
    const CHUNK: usize = 64 * 1024;
    const START: &[u8] = br#"{"total": 1, "items": ["#;
    let chunks = futures::stream::unfold(0u64, move |made| {
        let largest = largest.clone();
        async move {
            if made >= HUGE {
                return None;
            }
            let chunk = if made == 0 {
                Bytes::from_static(START)
            } else {
                Bytes::from(vec![b' '; CHUNK.min((HUGE - made) as usize)])
            };
            let made = made + chunk.len() as u64;
            largest.fetch_max(made, Ordering::SeqCst);
            Some((Ok::<_, Infallible>(chunk), made))
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if declared {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(HUGE));
    }
    response
}
