//! A Backstage catalog file (any number of `---` documents) uploaded to `POST /api/v1/import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    bearing_fuzz::on_server_stack(move || bearing_fuzz::catalog::check_import("catalog-info.yaml", &data));
});
