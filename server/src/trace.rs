//! Requests you can trace: each gets an id of ours, and everything logged while it is handled
//! is inside one span that names it.
//!
//! [`RequestIdLayer`] runs first. Our id is always a fresh UUID: it names the request in the
//! audit log and in the server's log, so a client must not choose it (and make two requests,
//! or someone else's, look like one). A client's own `x-request-id` is kept beside it as
//! `client_request_id` and echoed back as `x-client-request-id`; ours is sent back as
//! `x-request-id` on every response, errors and refusals included.
//!
//! [`layer`] is tower-http's `TraceLayer` with a span per request: `request_id`,
//! `client_request_id`, `method`, `route` (the matched route, not the raw path, so ids in URLs
//! do not fill the logs), then `status` and `latency_ms` once answered. Failures are not logged
//! again here: an internal error is logged once, where it is turned into a 500, and that line
//! carries the span and so the id the client saw.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

/// Bearing's id of the request being handled (a UUID), in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The id the client gave the request in `x-request-id`, if it was printable and short.
#[derive(Clone, Debug)]
pub struct ClientRequestId(pub String);

/// Longest client request id kept.
const MAX_CLIENT_ID: usize = 100;

/// The layer that gives each request its [`RequestId`] (and keeps the client's
/// [`ClientRequestId`]), and names both in the response headers.
///
/// A plain tower layer rather than `axum::middleware::from_fn`: the outermost layer runs for
/// every request, and a `from_fn` middleware clones the whole stack of services inside it on
/// each call.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIds<S>;

    fn layer(&self, inner: S) -> RequestIds<S> {
        RequestIds { inner }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Clone, Debug)]
pub struct RequestIds<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for RequestIds<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = WithRequestIds<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = uuid::Uuid::new_v4().to_string();
        let client_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= MAX_CLIENT_ID && v.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_owned);
        let headers = (
            HeaderValue::from_str(&id).ok(),
            client_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()),
        );
        req.extensions_mut().insert(RequestId(id));
        if let Some(client_id) = client_id {
            req.extensions_mut().insert(ClientRequestId(client_id));
        }
        WithRequestIds {
            inner: self.inner.call(req),
            headers: Some(headers),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of [`RequestIds`], with `x-request-id` (and `x-client-request-id`) set.
    pub struct WithRequestIds<F> {
        #[pin]
        inner: F,
        headers: Option<(Option<HeaderValue>, Option<HeaderValue>)>,
    }
}

impl<F, ResBody, E> Future for WithRequestIds<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        if let Some((id, client_id)) = this.headers.take() {
            let headers = response.headers_mut();
            if let Some(id) = id {
                headers.insert("x-request-id", id);
            }
            if let Some(client_id) = client_id {
                headers.insert("x-client-request-id", client_id);
            }
        }
        Poll::Ready(Ok(response))
    }
}

/// The request span and what is logged when a response is sent.
pub fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), ResponseLine, (), (), ()> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(ResponseLine)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// Makes the span of a request (see the module docs for its fields).
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> Span {
        let id = req.extensions().get::<RequestId>().map_or("", |id| id.0.as_str());
        let client_id = req.extensions().get::<ClientRequestId>().map(|id| id.0.as_str());
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        // At ERROR level, so the span (and with it the request's id) is on every error line
        // even when the filter is set to `warn` or `error`.
        tracing::error_span!(
            "request",
            request_id = %id,
            client_request_id = client_id.map(tracing::field::display),
            method = %req.method(),
            route = %route,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }
}

/// Records the status and latency in the span, and logs one line per response at `debug`
/// (`RUST_LOG=server::trace=debug` gives an access log).
#[derive(Clone, Copy, Debug)]
pub struct ResponseLine;

impl<B> OnResponse<B> for ResponseLine {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        span.record("status", status);
        span.record("latency_ms", latency_ms);
        tracing::debug!(status, latency_ms, "answered");
    }
}
