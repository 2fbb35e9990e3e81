//! A Kuma control-plane response body, read as every type the poller and pages parse.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bearing_fuzz::kuma::check_model(data);
});
