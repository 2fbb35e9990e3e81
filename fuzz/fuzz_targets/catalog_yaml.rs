//! A Backstage catalog file (any number of `---` documents) uploaded to `POST /api/v1/import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bearing_fuzz::catalog::check_import("catalog-info.yaml", data);
});
