//! What the fuzz targets check beyond "does not crash", shared so each target stays a few lines.
//!
//! libFuzzer already reports panics, stack overflows, timeouts and memory above the limit; the
//! checks here add the promises Bearing makes about a *handled* input: a refused catalog file says
//! where and why, an accepted one can be stored and read back, a Kuma response that parses is
//! judged by the status and permission rules without panicking, and what the types write back
//! (kuma-sim serves them) parses again.

#![deny(missing_docs)]

pub mod catalog;
pub mod kuma;

/// Stack size of the threads that parse in the server: tokio's worker and blocking threads both
/// default to 2 MiB, far less than the 8 MiB main thread libFuzzer runs inputs on. A recursion
/// that fits in 8 MiB but not in 2 MiB kills the server, so the targets parse on a thread this size.
pub const SERVER_STACK_BYTES: usize = 2 << 20;

/// Runs `check` on a fresh thread with the server's stack size. A panic or a stack overflow there
/// aborts the process (libfuzzer-sys's panic hook, Rust's guard page), which libFuzzer reports.
pub fn on_server_stack(check: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new()
        .stack_size(SERVER_STACK_BYTES)
        .spawn(check)
        .expect("the fuzz harness can start a thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}
