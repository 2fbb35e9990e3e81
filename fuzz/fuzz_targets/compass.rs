//! An Atlassian Compass `compass.yml` uploaded to `POST /api/v1/import` (read as Compass by name).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    bearing_fuzz::on_server_stack(move || bearing_fuzz::catalog::check_import("compass.yml", &data));
});
