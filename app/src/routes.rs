//! The document shell and the route table: one line per page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::audit::page::AuditPage;
use crate::auth::pages::{AdminPage, LoginPage};
use crate::catalog::edit::transfers::TransfersPage;
use crate::catalog::pages::{CatalogPage, EntityPage, HomePage, SearchPage};
use crate::error::{AppError, ErrorTemplate};
use crate::mesh::pages::MeshOverviewPage;
use crate::ui::Layout;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

/// Sets this page's Content-Security-Policy: scripts only from this site or carrying this
/// response's nonce (Leptos puts it on its inline hydration script), `wasm-unsafe-eval` for the
/// wasm bundle, no framing. Forms may also go to the identity provider (sign-out redirects
/// there).
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce()
        .map(|n| format!(" 'nonce-{n}'"))
        .unwrap_or_default();
    let provider = use_context::<crate::ssr::ServerCtx>()
        .and_then(|ctx| ctx.auth.issuer.clone())
        .and_then(|issuer| origin_of(&issuer))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'{provider}; frame-ancestors 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// `scheme://host[:port]` of a URL.
#[cfg(feature = "ssr")]
fn origin_of(url: &str) -> Option<String> {
    let start = url.find("://")? + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    Some(url[..end].to_owned())
}

/// The application: layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the document once the browser has hydrated it, so end-to-end tests (and curious
    // users) can tell a live page from server-rendered HTML.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    // Pages render fully on the server before the first byte (`SsrMode::Async`): the HTML is
    // complete without JavaScript (filters are plain links), and a missing entity can still
    // answer 404, which streaming could not once the headers were sent.
    view! {
        <Stylesheet id="leptos" href="/pkg/bearing.css"/>
        <Title formatter=|text: String| if text.is_empty() { "Bearing".to_owned() } else { format!("{text} · Bearing") }/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <ErrorTemplate error=AppError::NotFound("page".into())/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/catalog") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/catalog/:kind/:namespace/:name") view=EntityPage ssr=SsrMode::Async/>
                    <Route path=path!("/mesh") view=MeshOverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/transfers") view=TransfersPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
