//! A Kuma control-plane response body, read as every type the poller and pages parse.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    bearing_fuzz::on_server_stack(move || bearing_fuzz::kuma::check_model(&data));
});
