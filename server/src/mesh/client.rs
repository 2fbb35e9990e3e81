//! A small client for the Kuma control-plane API: GETs with a timeout and optional bearer token,
//! list paging by following `next`.

use std::time::Duration;

use bearing_kuma::model::{self, List};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

/// Why a request to the control plane failed.
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
}

/// One control plane's API.
#[derive(Clone)]
pub struct KumaClient {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

/// Largest page Kuma serves; fewer round trips for big meshes.
const PAGE_SIZE: usize = 1000;

impl KumaClient {
    /// A client for the API at `base` (e.g. `http://127.0.0.1:5681`).
    pub fn new(base: &str, token: Option<SecretString>, timeout: Duration) -> anyhow::Result<KumaClient> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(KumaClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// The body of `GET <path or absolute URL>`.
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.get(&url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token.expose_secret());
        }
        let transport = |source| ClientError::Transport {
            path: path.to_owned(),
            source,
        };
        let res = req.send().await.map_err(transport)?;
        let status = res.status();
        if !status.is_success() {
            return Err(ClientError::Status {
                path: path.to_owned(),
                status: status.as_u16(),
            });
        }
        res.text().await.map_err(transport)
    }

    /// `GET path` parsed as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let body = self.get_text(path).await?;
        model::parse(&body).map_err(|source| ClientError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Every item of a list endpoint, following `next` page by page.
    pub async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ClientError> {
        let mut items = Vec::new();
        self.for_each_page(path, |mut page: Vec<T>| items.append(&mut page))
            .await?;
        Ok(items)
    }

    /// Hands each page of a list endpoint to `f` as it arrives, following `next`; only one page
    /// is held at a time.
    pub async fn for_each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        mut f: impl FnMut(Vec<T>),
    ) -> Result<(), ClientError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}size={PAGE_SIZE}");
        // Bounded so a control plane that keeps answering `next` cannot loop us forever.
        for _ in 0..100_000 {
            let mut page: List<T> = self.get(&url).await?;
            let next = page.next_page().map(str::to_owned);
            f(std::mem::take(&mut page.items));
            match next {
                Some(n) => url = n,
                None => return Ok(()),
            }
        }
        Ok(())
    }
}
