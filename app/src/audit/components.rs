//! Audit widgets shown on other pages.

use leptos::prelude::*;

use super::AuditKeyInfo;
use crate::error::{error_fallback, AppError};
use crate::ui::Loading;

/// The audit signing key's fingerprint and public key, for admins to hand to auditors (shown
/// on `/admin`, which requests `key` with the rest of its data).
#[component]
pub fn AuditKeyPanel(key: Resource<Result<AuditKeyInfo, AppError>>) -> impl IntoView {
    view! {
        <section aria-labelledby="audit-key-h" class="mb-10">
            <h2 id="audit-key-h" class="mb-2 text-lg font-semibold">"Audit signing key"</h2>
            <Suspense fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move {
                        key.await.map(|k| view! {
                            <p class="mb-2 text-sm break-all">
                                "SHA-256 fingerprint "<code data-test="key-fingerprint">{k.fingerprint}</code>
                                " (key id "<code>{k.key_id}</code>")."
                            </p>
                            <p class="mb-2 text-sm text-slate-600">
                                "Give auditors this public key through a channel the database's operators do not control; \
                                 they check the log with "<code>"bearing audit verify --public-key FILE"</code>
                                " and compare the fingerprint."
                            </p>
                            <pre class="max-w-2xl overflow-x-auto rounded bg-slate-100 p-2 text-xs" data-test="public-key">{k.public_key_pem}</pre>
                        })
                    })}
                </ErrorBoundary>
            </Suspense>
        </section>
    }
}
