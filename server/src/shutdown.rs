//! Graceful shutdown in two steps, so that a replica behind a proxy or load balancer loses no
//! request when it is stopped (issue 15).
//!
//! On SIGINT or SIGTERM the server first *drains* for `--shutdown-drain`: it stops accepting
//! connections (a proxy's new connection is refused, so the proxy sends the request to another
//! replica: nothing was sent yet, so even a POST is safe to send again), and keeps answering on
//! the connections it has, each answer now carrying `Connection: close`, so each connection is
//! closed by the server right after an answer, when the client knows not to send on it again.
//! `/readyz` says `shutting down`. Then the server closes the connections that stayed idle
//! throughout, waits for the requests in flight to be answered (each bounded by the router's 30 s
//! timeout) and exits. A second signal during the drain ends it at once.
//!
//! Without the drain, the connections a proxy keeps open to the server (nginx `keepalive`) were
//! closed at the signal while idle, and a request the proxy sent on one at that moment was lost:
//! the proxy sends a GET again to another replica, never a POST it has already sent, which failed
//! with a 502 (`bench/replicas.py`, rolling restart through nginx). Accepting during the drain
//! (only closing connections after each answer) was tried first and lost requests the same way:
//! every request then came on a new connection, and at the end of the drain some had been
//! accepted but not yet read, which counts as idle.
//!
//! Under Kubernetes, whose endpoints follow a pod's termination only after a moment, give the pod
//! a `preStop` sleep so that SIGTERM comes once no new connections are sent to it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use std::net::SocketAddr;

use axum::http::{header, HeaderValue, Request, Response};
use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, Service};

/// Whether this server is draining before it stops. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<DrainState>);

#[derive(Debug, Default)]
struct DrainState {
    started: AtomicBool,
    /// Wakes the listener, which then stops accepting.
    wake: tokio::sync::Notify,
}

impl Draining {
    /// Whether the drain has started.
    pub fn is_draining(&self) -> bool {
        self.0.started.load(Ordering::Acquire)
    }

    /// Starts the drain: no new connections; answers close theirs; `/readyz` says so.
    pub fn start(&self) {
        self.0.started.store(true, Ordering::Release);
        self.0.wake.notify_waiters();
    }
}

/// A TCP listener that stops accepting, and closes its socket (new connections are refused), as
/// soon as the drain starts. Serve it through `ListenerExt::tap_io` so that axum gives handlers
/// the peer address (`ConnectInfo<SocketAddr>`) as for a plain `TcpListener`.
#[derive(Debug)]
pub struct DrainingListener {
    inner: Option<TcpListener>,
    addr: SocketAddr,
    draining: Draining,
}

impl DrainingListener {
    /// `listener`, until `draining` starts.
    pub fn new(listener: TcpListener, draining: Draining) -> std::io::Result<DrainingListener> {
        Ok(DrainingListener {
            addr: listener.local_addr()?,
            inner: Some(listener),
            draining,
        })
    }
}

impl Listener for DrainingListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Some(listener) = &self.inner else {
                // Shutting down: axum stops asking once the drain is over.
                return std::future::pending().await;
            };
            // Registered before the flag is read, so a drain starting in between is not missed.
            let woken = self.draining.0.wake.notified();
            if self.draining.is_draining() {
                self.inner = None;
                continue;
            }
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(connection) => return connection,
                    Err(err) => accept_failed(err).await,
                },
                () = woken => {}
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// As axum's own listener does: a connection that failed before it was accepted is the peer's
/// business; anything else (too many open files) is logged and retried after a pause.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %err, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Adds `Connection: close` to every answer while draining. A plain tower layer, like
/// [`crate::trace::RequestIdLayer`]: a `from_fn` middleware this far out would clone the whole
/// stack inside it on every request.
#[derive(Clone, Debug)]
pub struct CloseWhenDrainingLayer(pub Draining);

impl<S> Layer<S> for CloseWhenDrainingLayer {
    type Service = CloseWhenDraining<S>;

    fn layer(&self, inner: S) -> CloseWhenDraining<S> {
        CloseWhenDraining {
            inner,
            draining: self.0.clone(),
        }
    }
}

/// The service of [`CloseWhenDrainingLayer`].
#[derive(Clone, Debug)]
pub struct CloseWhenDraining<S> {
    inner: S,
    draining: Draining,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CloseWhenDraining<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ClosingWhenDraining<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        ClosingWhenDraining {
            inner: self.inner.call(req),
            draining: self.draining.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of [`CloseWhenDraining`].
    pub struct ClosingWhenDraining<F> {
        #[pin]
        inner: F,
        draining: Draining,
    }
}

impl<F, ResBody, E> Future for ClosingWhenDraining<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        // Checked when the answer is ready: a request that started before the drain and ends
        // during it closes its connection too.
        if this.draining.is_draining() {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response))
    }
}

/// Resolves, for `axum::serve(...).with_graceful_shutdown`, once a signal has come and the drain
/// is over: on SIGINT or SIGTERM, starts `draining` and waits `drain` (or for a second signal).
pub async fn drain_on_signal(draining: Draining, drain: Duration) {
    signal().await;
    draining.start();
    tracing::info!(
        drain = ?drain,
        "shutting down: no new connections; answers on open ones close them; /readyz says shutting down"
    );
    tokio::select! {
        () = tokio::time::sleep(drain) => {}
        () = signal() => tracing::info!("a second signal: the drain ends now"),
    }
    tracing::info!("drained: closing idle connections, finishing the requests in flight");
}

/// Resolves on Ctrl-C or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_listener_closes_when_the_drain_starts() {
        let draining = Draining::default();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let mut listener = DrainingListener::new(tcp, draining.clone()).unwrap();
        let client = tokio::spawn(async move { TcpStream::connect(addr).await });
        let (_accepted, _) = listener.accept().await;
        client.await.unwrap().expect("accepted before the drain");

        // axum keeps asking the listener for connections; it answers none once draining.
        let accepting = tokio::spawn(async move { listener.accept().await });
        draining.start();
        assert!(draining.is_draining());
        let mut refused = false;
        for _ in 0..200 {
            match TcpStream::connect(addr).await {
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                // Not yet closed: the listener task has not run since the drain started.
                _ => tokio::task::yield_now().await,
            }
        }
        assert!(refused, "new connections are refused once the drain starts");
        assert!(!accepting.is_finished(), "and none is handed to the server");
        accepting.abort();
    }
}
