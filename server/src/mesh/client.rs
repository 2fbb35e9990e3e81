//! A small client for the Kuma control-plane API: GETs with a timeout and optional bearer token,
//! list paging by following `next`.
//!
//! What the control plane answers is not trusted to steer the client (issue 10, item 7):
//! - **One origin.** Requests, and so the token, go only to the configured URL's scheme, host
//!   and port. A `next` link elsewhere fails the read before anything is sent there; a redirect
//!   elsewhere is not followed.
//! - **Names are path segments.** Mesh and dataplane names are percent-encoded into one segment
//!   each ([`Segments`]), so a name holding `/`, `?` or `#` cannot reach another endpoint.
//! - **Bounded bodies.** A body is read as a stream and refused as soon as it passes the cap;
//!   at most the cap is ever held for one response.

use std::time::Duration;

use bearing_kuma::model::{self, List};
use reqwest::redirect;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::{Origin, Url};

/// The path of a request as segments: literal ones such as `meshes`, and names from the control
/// plane, each of which becomes exactly one percent-encoded segment.
pub type Segments<'a> = &'a [&'a str];

/// Why a request to the control plane failed. Every message starts with the request (`GET
/// /meshes?size=1000`), without the host, so it can be stored and shown as the poll's error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connection refused, timeout, reset.
    #[error("GET {path}: {source}")]
    Transport {
        /// What was requested.
        path: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// A non-2xx answer.
    #[error("GET {path}: HTTP {status}")]
    Status {
        /// What was requested.
        path: String,
        /// The status code.
        status: u16,
    },
    /// A 2xx answer that is not the expected JSON.
    #[error("GET {path}: {source}")]
    Parse {
        /// What was requested.
        path: String,
        /// The parse error.
        source: bearing_kuma::Error,
    },
    /// A `next` link or a redirect to another origin than the configured URL's.
    #[error(
        "GET {path}: the control plane sent Bearing to {found}, which is not the configured \
         control plane {expected}; Bearing sends requests and its token only there. If Kuma sits \
         behind a proxy, let the proxy pass the original Host header and scheme through"
    )]
    ForeignOrigin {
        /// What was requested.
        path: String,
        /// The origin the control plane pointed to.
        found: String,
        /// The configured origin.
        expected: String,
    },
    /// A `next` link that is not a URL.
    #[error("GET {path}: the next page link {next:?} is not a URL: {source}")]
    BadNext {
        /// What was requested.
        path: String,
        /// The link (shortened).
        next: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// A body larger than `--kuma-max-body-size`.
    #[error(
        "GET {path}: the answer is larger than {limit} bytes and was not read further; raise \
         --kuma-max-body-size (BEARING_KUMA_MAX_BODY_SIZE) if the control plane's pages are really \
         this large"
    )]
    TooLarge {
        /// What was requested.
        path: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A name that no URL path can carry as one segment.
    #[error("the name {name:?} from the control plane cannot be sent as a URL path segment (empty, `.` or `..`)")]
    BadName {
        /// The name.
        name: String,
    },
    /// A list whose `next` links never end.
    #[error("GET {path}: more than {MAX_PAGES} pages; the control plane's next links do not end")]
    TooManyPages {
        /// The list's first page.
        path: String,
    },
}

/// One control plane's API.
#[derive(Clone)]
pub struct KumaClient {
    http: reqwest::Client,
    /// The configured URL, its path ending without `/`.
    base: Url,
    token: Option<SecretString>,
    max_body: u64,
}

/// Largest page Kuma serves; fewer round trips for big meshes.
const PAGE_SIZE: usize = 1000;

/// Pages read from one list at most, so `next` links that loop cannot keep a poll going forever
/// (100 million items at [`PAGE_SIZE`]).
const MAX_PAGES: usize = 100_000;

/// Redirects followed within the configured origin at most.
const MAX_REDIRECTS: usize = 10;

/// Longest piece of control-plane text (a link, an origin) quoted in an error.
const QUOTED: usize = 200;

impl KumaClient {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:5681`, or with a path prefix such
    /// as `https://gateway/kuma`), reading bodies of at most `max_body` bytes.
    pub fn new(
        base: &str,
        token: Option<SecretString>,
        timeout: Duration,
        max_body: u64,
    ) -> anyhow::Result<KumaClient> {
        let base = parse_base(base)?;
        let origin = base.origin();
        // Redirects within the configured origin are followed; any other is answered as it is,
        // and `get_url` reports it.
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder().timeout(timeout).redirect(policy).build()?;
        Ok(KumaClient {
            http,
            base,
            token,
            max_body,
        })
    }

    /// The URL of `segments` under the configured URL, each segment percent-encoded.
    pub fn url(&self, segments: Segments<'_>) -> Result<Url, ClientError> {
        // `.` and `..` would be dropped or resolved by any URL parser (also as `%2E`), and an
        // empty segment changes the route: none of them can stand for a name.
        if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(ClientError::BadName {
                name: (*bad).to_owned(),
            });
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ClientError::BadName {
                name: segments.join("/"),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// The body of `GET <segments>`.
    pub async fn get_text(&self, segments: Segments<'_>) -> Result<String, ClientError> {
        self.get_url(&self.url(segments)?).await
    }

    /// The body of `GET url`, `url` being within the configured origin.
    async fn get_url(&self, url: &Url) -> Result<String, ClientError> {
        let path = shown_path(url);
        let mut req = self.http.get(url.clone());
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let transport = |source| ClientError::Transport {
            path: path.clone(),
            source,
        };
        let res = req.send().await.map_err(transport)?;
        let status = res.status();
        if status.is_redirection() {
            // Only a redirect leaving the origin is handed back unfollowed.
            if let Some(target) = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| res.url().join(l).ok())
            {
                return Err(self.foreign(&path, &target));
            }
        }
        if !status.is_success() {
            return Err(ClientError::Status {
                path,
                status: status.as_u16(),
            });
        }
        let body = self.read_body(&path, res).await?;
        Ok(String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Reads a body chunk by chunk, failing as soon as it passes the cap. The buffer grows to at
    /// most the cap, never to the size the control plane declares or sends.
    async fn read_body(&self, path: &str, mut res: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let too_large = || ClientError::TooLarge {
            path: path.to_owned(),
            limit: self.max_body,
        };
        if res.content_length().is_some_and(|n| n > self.max_body) {
            return Err(too_large());
        }
        let limit = usize::try_from(self.max_body).unwrap_or(usize::MAX);
        let declared = res.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut body = Vec::with_capacity(declared.min(limit));
        while let Some(chunk) = res.chunk().await.map_err(|source| ClientError::Transport {
            path: path.to_owned(),
            source,
        })? {
            let needed = body.len().saturating_add(chunk.len());
            if needed > limit {
                return Err(too_large());
            }
            if needed > body.capacity() {
                // Doubling as `Vec` would, but never past the cap.
                let target = needed.max(body.capacity().saturating_mul(2)).min(limit);
                body.reserve_exact(target - body.len());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `GET segments` parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, segments: Segments<'_>) -> Result<T, ClientError> {
        self.get_parsed(&self.url(segments)?).await
    }

    async fn get_parsed<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ClientError> {
        let body = self.get_url(url).await?;
        model::parse(&body).map_err(|source| ClientError::Parse {
            path: shown_path(url),
            source,
        })
    }

    /// Every item of a list endpoint, following `next` page by page.
    pub async fn list<T: DeserializeOwned>(&self, segments: Segments<'_>) -> Result<Vec<T>, ClientError> {
        let mut items = Vec::new();
        self.for_each_page(segments, |mut page: Vec<T>| items.append(&mut page))
            .await?;
        Ok(items)
    }

    /// Hands each page of a list endpoint to `f` as it arrives, following `next` within the
    /// configured origin; only one page is held at a time.
    pub async fn for_each_page<T: DeserializeOwned>(
        &self,
        segments: Segments<'_>,
        mut f: impl FnMut(Vec<T>),
    ) -> Result<(), ClientError> {
        let mut url = self.url(segments)?;
        url.query_pairs_mut().append_pair("size", &PAGE_SIZE.to_string());
        let first = shown_path(&url);
        for _ in 0..MAX_PAGES {
            let mut page: List<T> = self.get_parsed(&url).await?;
            let next = page.next_page().map(|n| self.next_url(&url, n)).transpose()?;
            f(std::mem::take(&mut page.items));
            match next {
                Some(n) => url = n,
                None => return Ok(()),
            }
        }
        Err(ClientError::TooManyPages { path: first })
    }

    /// The page a `next` link names (Kuma sends absolute URLs built from the request's Host
    /// header; a relative one is resolved against the current page), if it is within the
    /// configured origin.
    fn next_url(&self, current: &Url, next: &str) -> Result<Url, ClientError> {
        let mut url = current.join(next).map_err(|source| ClientError::BadNext {
            path: shown_path(current),
            next: shorten(next),
            source,
        })?;
        if url.origin() != self.base.origin() {
            return Err(self.foreign(&shown_path(current), &url));
        }
        url.set_fragment(None);
        Ok(url)
    }

    /// `method <segments>` with an optional JSON body (a write): the status and the body,
    /// whatever the status, so the caller can read Kuma's error document. Bodies are capped like
    /// reads; redirects are not followed for writes (the client's policy stops at other origins,
    /// and a write answered with a redirect is reported as its status).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        segments: Segments<'_>,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String), ClientError> {
        let url = self.url(segments)?;
        let path = shown_path(&url);
        let mut req = self.http.request(method, url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let res = req.send().await.map_err(|source| ClientError::Transport {
            path: path.clone(),
            source,
        })?;
        let status = res.status().as_u16();
        let body = self.read_body(&path, res).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    fn foreign(&self, path: &str, target: &Url) -> ClientError {
        ClientError::ForeignOrigin {
            path: path.to_owned(),
            found: shorten(&show_origin(&target.origin(), target)),
            expected: show_origin(&self.base.origin(), &self.base),
        }
    }
}

/// The configured control-plane URL, checked: http(s), a host, no query or fragment.
fn parse_base(base: &str) -> anyhow::Result<Url> {
    let mut url =
        Url::parse(base).map_err(|e| anyhow::anyhow!("the Kuma control-plane URL {base:?} is not a URL: {e}"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.has_host(),
        "the Kuma control-plane URL {base:?} must start with http:// or https:// and name a host"
    );
    anyhow::ensure!(
        url.query().is_none() && url.fragment().is_none(),
        "the Kuma control-plane URL {base:?} must not have a query or fragment"
    );
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// An origin for messages: `scheme://host:port` (the port spelled out, so `https://h` and
/// `http://h:443` are told apart).
fn show_origin(origin: &Origin, url: &Url) -> String {
    match origin {
        Origin::Tuple(scheme, host, port) => format!("{scheme}://{host}:{port}"),
        Origin::Opaque(_) => format!("{}: (no origin)", url.scheme()),
    }
}

/// A request for messages: path and query, without the host.
fn shown_path(url: &Url) -> String {
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    shorten(&path)
}

/// Control-plane text cut to [`QUOTED`] characters, so an error stays readable however long a
/// link the control plane sends.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> KumaClient {
        KumaClient::new(base, None, Duration::from_secs(1), 1024).expect("client")
    }

    #[test]
    fn names_become_one_encoded_segment_each() {
        let c = client("http://kuma:5681");
        let url = c
            .url(&["meshes", "a/b?c#d%2Fe", "dataplanes", r"web\1 x", "stats"])
            .expect("url");
        assert_eq!(
            url.as_str(),
            "http://kuma:5681/meshes/a%2Fb%3Fc%23d%252Fe/dataplanes/web%5C1%20x/stats"
        );
        let url = c.url(&["meshes", "default", "dataplanes+insights"]).expect("url");
        assert_eq!(url.as_str(), "http://kuma:5681/meshes/default/dataplanes+insights");
        // A path prefix on the configured URL is kept, with or without a trailing slash.
        for base in ["https://gw.example/kuma", "https://gw.example/kuma/"] {
            let url = client(base).url(&["meshes"]).expect("url");
            assert_eq!(url.as_str(), "https://gw.example/kuma/meshes");
        }
    }

    #[test]
    fn names_no_path_can_carry_are_refused() {
        let c = client("http://kuma:5681");
        for name in ["", ".", ".."] {
            let err = c.url(&["meshes", name, "dataplanes+insights"]).expect_err(name);
            assert!(matches!(err, ClientError::BadName { .. }), "{name:?}: {err}");
        }
        // Encoded dots are just characters in a name: `%` is encoded in turn.
        let url = c.url(&["meshes", "%2E%2E"]).expect("url");
        assert_eq!(url.path(), "/meshes/%252E%252E");
    }

    #[test]
    fn next_links_must_stay_on_the_configured_origin() {
        let c = client("http://kuma:5681");
        let current = c.url(&["meshes"]).expect("url");
        let ok = |next: &str| c.next_url(&current, next).map(|u| u.to_string());
        assert_eq!(
            ok("http://kuma:5681/meshes?offset=2&size=2").expect("same origin"),
            "http://kuma:5681/meshes?offset=2&size=2"
        );
        assert_eq!(
            ok("HTTP://KUMA:5681/meshes?offset=2").expect("case does not matter"),
            "http://kuma:5681/meshes?offset=2"
        );
        assert_eq!(
            ok("/meshes?offset=2").expect("relative"),
            "http://kuma:5681/meshes?offset=2"
        );
        for foreign in [
            "http://evil:5681/meshes?offset=2",
            "http://kuma:5682/meshes?offset=2",
            "https://kuma:5681/meshes?offset=2",
            "http://kuma:5681@evil:5681/meshes",
            "//evil:5681/meshes",
            "file:///etc/passwd",
            "data:text/plain,x",
        ] {
            let err = ok(foreign).expect_err(foreign);
            assert!(matches!(err, ClientError::ForeignOrigin { .. }), "{foreign}: {err}");
            assert!(err.to_string().contains("http://kuma:5681"), "{err}");
        }
        let err = ok("http://[::1").expect_err("not a URL");
        assert!(matches!(err, ClientError::BadNext { .. }), "{err}");
        // The default port is the same origin as no port.
        let c = client("https://kuma");
        let current = c.url(&["meshes"]).expect("url");
        assert!(c.next_url(&current, "https://kuma:443/meshes?offset=1").is_ok());
        assert!(c.next_url(&current, "http://kuma:443/meshes?offset=1").is_err());
    }

    #[test]
    fn a_long_foreign_link_is_shortened_in_the_error() {
        let c = client("http://kuma:5681");
        let current = c.url(&["meshes"]).expect("url");
        let host = "a".repeat(5000);
        let err = c
            .next_url(&current, &format!("http://{host}.example/meshes"))
            .expect_err("foreign");
        assert!(err.to_string().len() < 1000, "{err}");
    }

    #[test]
    fn only_http_base_urls_are_accepted() {
        for bad in [
            "kuma:5681",
            "ftp://kuma",
            "http://kuma/?x=1",
            "http://kuma/#f",
            "not a url",
        ] {
            assert!(KumaClient::new(bad, None, Duration::from_secs(1), 1).is_err(), "{bad}");
        }
    }
}
