//! The document shell and the route table: one line per page.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::access_reviews::pages::{AccessReviewPage, AccessReviewsPage};
use crate::audit::pages::AuditPage;
use crate::auth::pages::{AdminPage, LoginPage};
use crate::catalog::ownership::pages::TransfersPage;
use crate::catalog::pages::{CatalogPage, EntityPage, HomePage, SearchPage};
use crate::delivery::components::RunPage;
use crate::delivery::pages::DeliveryPage;
use crate::error::{AppError, ErrorTemplate};
use crate::evidence::pages::EvidencePage;
use crate::graph::pages::GraphPage;
use crate::mesh::pages::MeshOverviewPage;
use crate::scorecards::pages::ScorecardsPage;
use crate::ui::Layout;

/// The HTML document around the app, rendered on the server only.
///
/// Its inline scripts carry the nonce of the request's Content-Security-Policy, which the
/// server chooses and sets (`server::security`), not the page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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
        <Title formatter=|text: String| crate::ui::raw_text(if text.is_empty() { "Bearing".to_owned() } else { format!("{text} · Bearing") })/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <ErrorTemplate error=AppError::NotFound("page".into())/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/catalog") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/catalog/:kind/:namespace/:name") view=EntityPage ssr=SsrMode::Async/>
                    <Route path=path!("/mesh") view=MeshOverviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/delivery") view=DeliveryPage ssr=SsrMode::Async/>
                    <Route path=path!("/delivery/run") view=RunPage ssr=SsrMode::Async/>
                    <Route path=path!("/scorecards") view=ScorecardsPage ssr=SsrMode::Async/>
                    <Route path=path!("/graph") view=GraphPage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/evidence") view=EvidencePage ssr=SsrMode::Async/>
                    <Route path=path!("/transfers") view=TransfersPage ssr=SsrMode::Async/>
                    <Route path=path!("/access-reviews") view=AccessReviewsPage ssr=SsrMode::Async/>
                    <Route path=path!("/access-reviews/:id") view=AccessReviewPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
