//! Two things compiled into the binary from outside `src/`:
//! - `migrations/`, which `sqlx::migrate!` embeds: the binary is rebuilt when a migration is
//!   added or changed (cargo does not otherwise know the macro read it; what `sqlx migrate
//!   build-script` generates).
//! - the assets of the API reference at `/api/docs`: Swagger UI from npm `swagger-ui-dist` (the
//!   root package.json; `make setup` or `npm install` puts it in `node_modules/`), which
//!   `src/http/docs.rs` embeds with `include_bytes!`, so Bearing serves it itself and the binary
//!   needs no files beside it. Without them the server still builds, and `/api/docs` answers
//!   503 saying what to run (and the integration test
//!   `openapi::the_reference_page_and_its_assets_are_served_by_bearing` fails).

use std::path::PathBuf;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dist = PathBuf::from(manifest).join("../node_modules/swagger-ui-dist");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../migrations");
    // A missing file makes cargo rerun this script on every build, so installing it is noticed.
    println!("cargo::rerun-if-changed={}", dist.join("package.json").display());
    println!("cargo::rustc-check-cfg=cfg(api_docs_assets)");
    let found = ["swagger-ui-bundle.js", "swagger-ui.css"]
        .iter()
        .all(|f| dist.join(f).is_file());
    if found {
        println!("cargo::rustc-cfg=api_docs_assets");
        println!("cargo::rustc-env=BEARING_SWAGGER_UI_DIST={}", dist.display());
    } else {
        println!(
            "cargo::warning=npm swagger-ui-dist is not installed under {}: /api/docs will answer 503; \
             run `npm install` (or `make setup`) and build again",
            dist.display()
        );
    }
}
