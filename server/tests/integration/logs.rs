//! The test process's log subscriber, installed once by [`install`] (every `TestApp` does).
//!
//! Two outputs: warnings and errors go to the running test's own output, so a failing test
//! shows what the server logged while it ran (a database error behind a 500, say); and every
//! line from INFO up is kept in [`Captured`] for tests that assert what was logged.

use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// Every log line of this test process from INFO up.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Lines holding both `message` and `field`. The capture is process-wide, not per test (a
    /// thread-local subscriber misses events whose call site another test's thread reached
    /// first), so a test filters by something of its own in `field`.
    pub fn count(&self, message: &str, field: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer"))
            .lines()
            .filter(|l| l.contains(message) && l.contains(field))
            .count()
    }

    /// Every captured line holding `text` (say, a request id).
    pub fn lines_with(&self, text: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer"))
            .lines()
            .filter(|l| l.contains(text))
            .map(str::to_owned)
            .collect()
    }
}

/// Installs the subscriber (once per process) and returns the capture.
pub fn install() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let captured = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(LevelFilter::INFO);
        let to_test_output = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_test_writer()
            .with_filter(LevelFilter::WARN);
        let subscriber = tracing_subscriber::registry().with(captured).with(to_test_output);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in the tests");
        logs
    })
}
