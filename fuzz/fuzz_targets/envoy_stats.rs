//! An Envoy `/stats` body (text or JSON) from a proxy, and the rates between two of them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    bearing_fuzz::on_server_stack(move || bearing_fuzz::kuma::check_stats(&data));
});
