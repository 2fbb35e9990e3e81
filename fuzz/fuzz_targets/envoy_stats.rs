//! An Envoy `/stats` body (text or JSON) from a proxy, and the rates between two of them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bearing_fuzz::kuma::check_stats(data);
});
