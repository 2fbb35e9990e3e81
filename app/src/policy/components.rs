//! The entity page's traffic-policy section: the policy in the mesh, the one Bearing proposes
//! from the declared consumers, the diff and whom it would deny or let in, and (for a lead of
//! the owning team or an admin) apply and roll back; the Kubernetes manifest where the control
//! plane is read-only.

pub mod templates;

use leptos::prelude::*;

use super::api::{AdoptPolicy, ApplyPolicy, RollbackPolicy};
use super::{CallerChange, OutOfDate, PolicyMode, PolicyPreview, PolicyWriteResult};
use crate::catalog::ref_href;
use crate::error::{AppError, SectionError};
use crate::ui::Loading;

/// The section, once its preview has loaded (`None`: the component is not in the mesh).
#[component]
pub fn PolicySection(
    preview: Resource<Result<Option<PolicyPreview>, AppError>>,
    namespace: String,
    name: String,
    apply: ServerAction<ApplyPolicy>,
    rollback: ServerAction<RollbackPolicy>,
    adopt: ServerAction<AdoptPolicy>,
) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="policy-heading" data-test="policy-section">
            <h2 id="policy-heading" class="font-semibold">"Traffic policy"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Who may call this component, as Kuma's MeshTrafficPermission decides, and the policy that would let in exactly the components that declare a dependency on it."
            </p>
            {move || written(apply.value().get(), "Applied")}
            {move || written(rollback.value().get(), "Rolled back")}
            {move || written(adopt.value().get(), "Adopted")}
            <Transition fallback=Loading>
                {
                    let (namespace, name) = (namespace.clone(), name.clone());
                    move || {
                        let (namespace, name) = (namespace.clone(), name.clone());
                        Suspend::new(async move {
                            match preview.await {
                                Ok(Some(p)) => body(p, namespace, name, (apply, rollback, adopt)).into_any(),
                                Ok(None) => view! {
                                    <p class="mt-2 text-sm text-slate-500" data-test="policy-not-in-mesh">"Not in the mesh: no traffic policy applies."</p>
                                }.into_any(),
                                Err(error) => view! { <SectionError what="the traffic policy" error=error/> }.into_any(),
                            }
                        })
                    }
                }
            </Transition>
        </section>
    }
}

pub(super) fn written(result: Option<Result<PolicyWriteResult, AppError>>, done: &'static str) -> Option<AnyView> {
    result.map(|r| match r {
        Ok(w) => view! {
            <div role="status" class="mt-2 rounded bg-emerald-50 p-2 text-sm text-emerald-900" data-test="policy-written">
                {format!("{done}: {} {}.", w.name, w.outcome)}
                {(!w.warnings.is_empty()).then(|| view! {
                    <ul class="mt-1 list-disc pl-5 text-amber-900">{w.warnings.into_iter().map(|x| view! { <li>{x}</li> }).collect_view()}</ul>
                })}
            </div>
        }
        .into_any(),
        Err(e) => view! { <p role="alert" class="mt-2 text-sm text-red-700" data-test="policy-error">{e.to_string()}</p> }.into_any(),
    })
}

/// Whether the policy follows the catalog, and what Bearing does about it in this mode.
fn following(mode: PolicyMode, out_of_date: Option<OutOfDate>) -> Option<AnyView> {
    if mode == PolicyMode::Off {
        return Some(view! {
            <p class="text-sm text-slate-600" data-test="policy-mode-off">
                "Bearing does not write policies to this control plane (" <code>"--kuma-policy-mode off"</code> "): the proposal is for reading."
            </p>
        }.into_any());
    }
    let o = out_of_date?;
    let next = match mode {
        PolicyMode::Apply => "Bearing applies it on its own (--kuma-policy-mode apply).",
        _ => "Apply the proposal to make it follow the catalog again.",
    };
    Some(view! {
        <div role="status" class="rounded bg-amber-50 p-2 text-sm text-amber-900" data-test="policy-out-of-date">
            <p>{format!("Out of date since {}: the {} changed the declared consumers (imported by {}). {next}", o.since, o.cause, o.imported_by)}</p>
            {o.last_error.map(|e| view! {
                <p class="mt-1 text-red-800" data-test="policy-follow-error">{format!("Applying it failed ({} attempts): {e}", o.attempts)}</p>
            })}
        </div>
    }.into_any())
}

fn callers(list: Vec<CallerChange>, empty: &'static str) -> AnyView {
    if list.is_empty() {
        return view! { <p class="text-sm text-slate-500">{empty}</p> }.into_any();
    }
    view! {
        <ul class="space-y-1 text-sm">
            {list.into_iter().map(|c| {
                let label = c.component.clone().unwrap_or_else(|| c.service.clone());
                let link = c.component.as_deref().map(ref_href);
                view! {
                    <li data-test-policy-caller=format!("{}={}", c.service, c.after)>
                        {match link {
                            Some(href) => view! { <a class="text-indigo-700 underline" href=href>{label}</a> }.into_any(),
                            None => view! { <span>{label}</span> }.into_any(),
                        }}
                        <span class="text-slate-500">{format!(" ({}: {} → {})", c.service, c.before, c.after)}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The section's three writes.
type Writes = (
    ServerAction<ApplyPolicy>,
    ServerAction<RollbackPolicy>,
    ServerAction<AdoptPolicy>,
);

fn body(p: PolicyPreview, namespace: String, name: String, (apply, rollback, adopt): Writes) -> impl IntoView {
    let input = "rounded border border-slate-300 px-2 py-1";
    let read_only = p.write_path == "read_only";
    let current = match &p.current {
        None => view! { <p class="text-sm" data-test="policy-current">"No policy of Bearing's in the mesh yet (" {p.proposed.name.clone()} ")."</p> }.into_any(),
        Some(c) => view! {
            <p class="text-sm" data-test="policy-current">
                <code>{c.name.clone()}</code>
                {if c.managed { " — applied by Bearing" } else { " — not created by Bearing" }}
                {p.in_shadow.then(|| view! {
                    <span class="ml-2 rounded bg-sky-100 px-1.5 py-0.5 text-xs text-sky-900" data-test="policy-in-shadow">
                        "shadow phase: nobody is denied yet; Envoy logs whom it would deny"
                    </span>
                })}
                {c.edited_outside.then(|| view! {
                    <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" data-test="policy-edited-outside">
                        "edited outside Bearing: apply the proposal to revert it, or adopt the edit"
                    </span>
                })}
            </p>
        }
        .into_any(),
    };
    let follows = following(p.mode, p.out_of_date.clone());
    let consumers = if p.consumers.is_empty() {
        view! { <span class="text-slate-500">"none declared: the proposal denies every caller"</span> }.into_any()
    } else {
        p.consumers
            .iter()
            .map(|c| c.component.clone().unwrap_or_else(|| c.service.clone()))
            .collect::<Vec<_>>()
            .join(", ")
            .into_any()
    };
    // The preview succeeded, so the name is a valid catalog name: safe as path segments.
    let manifest_href = format!("/api/v1/entities/component/{namespace}/{name}/policy?format=kubernetes");
    let edited_outside = p.current.as_ref().is_some_and(|c| c.edited_outside);
    let forms = p.can_apply.then(|| {
        let (ns2, n2) = (namespace.clone(), name.clone());
        let (ns3, n3) = (namespace.clone(), name.clone());
        let (ns4, n4) = (namespace.clone(), name.clone());
        view! {
            <div class="mt-4 grid gap-4 lg:grid-cols-2">
                {(!read_only).then(|| view! {
                    <ActionForm action=apply attr:class="space-y-2" attr:data-test="policy-apply-form">
                        <h3 class="font-semibold">"Apply the proposal"</h3>
                        <input type="hidden" name="namespace" value=namespace.clone()/>
                        <input type="hidden" name="name" value=name.clone()/>
                        <input type="hidden" name="expected_hash" value=p.proposed.hash.clone()/>
                        <label class="flex flex-col text-sm">"Reason (required, kept in the audit log)"
                            <input name="reason" required maxlength="1000" class=input/>
                        </label>
                        <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Apply policy"</button>
                    </ActionForm>
                })}
                {(!read_only).then(|| view! {
                    <ActionForm action=apply attr:class="space-y-2" attr:data-test="policy-shadow-form">
                        <h3 class="font-semibold">"Start with a shadow phase"</h3>
                        <p class="text-sm text-slate-600">"Everyone else is still let in, and Envoy logs each call the policy would deny (AllowWithShadowDeny). Apply the policy itself once the logs show nobody who should get in."</p>
                        <input type="hidden" name="namespace" value=ns4/>
                        <input type="hidden" name="name" value=n4/>
                        <input type="hidden" name="expected_hash" value=p.shadow_phase.hash.clone()/>
                        <input type="hidden" name="shadow" value="true"/>
                        <label class="flex flex-col text-sm">"Reason (required)"
                            <input name="reason" required maxlength="1000" class=input/>
                        </label>
                        <button class="rounded border border-indigo-600 bg-white px-3 py-1.5 text-sm text-indigo-700">"Apply the shadow phase"</button>
                    </ActionForm>
                })}
                {(edited_outside && !read_only).then(|| view! {
                    <ActionForm action=adopt attr:class="space-y-2" attr:data-test="policy-adopt-form">
                        <h3 class="font-semibold">"Adopt the edit made outside Bearing"</h3>
                        <p class="text-sm text-slate-600">"Keeps the policy as it is in the mesh. To revert the edit, apply the proposal instead."</p>
                        <input type="hidden" name="namespace" value=ns3/>
                        <input type="hidden" name="name" value=n3/>
                        <label class="flex flex-col text-sm">"Reason (required)"
                            <input name="reason" required maxlength="1000" class=input/>
                        </label>
                        <button class="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm">"Adopt"</button>
                    </ActionForm>
                })}
                {p.can_rollback.then(|| view! {
                    <ActionForm action=rollback attr:class="space-y-2" attr:data-test="policy-rollback-form">
                        <h3 class="font-semibold">"Roll back Bearing's last apply"</h3>
                        <input type="hidden" name="namespace" value=ns2/>
                        <input type="hidden" name="name" value=n2/>
                        <label class="flex flex-col text-sm">"Reason (required)"
                            <input name="reason" required maxlength="1000" class=input/>
                        </label>
                        <button class="rounded border border-slate-300 bg-white px-3 py-1.5 text-sm">"Roll back"</button>
                    </ActionForm>
                })}
            </div>
        }
    });
    let history = (!p.history.is_empty()).then(|| {
        view! {
            <details class="mt-3 text-sm">
                <summary class="cursor-pointer text-slate-700">"Bearing's changes to this policy"</summary>
                <ul class="mt-1 space-y-1">
                    {p.history.into_iter().map(|h| view! {
                        <li>{format!("{} · {} by {}: {}", h.at, h.action, h.actor, h.reason)}</li>
                    }).collect_view()}
                </ul>
            </details>
        }
    });
    view! {
        <div class="mt-3 space-y-3" data-test-policy-form=p.form.clone()>
            <p class="text-sm text-slate-700">
                {format!("Kuma service {} in mesh {} ({}), ", p.service, p.mesh, p.control_plane)}
                {if p.form == "rules" { "rules[] form with SPIFFE IDs (MeshIdentity)" } else { "from[] form (Mesh mTLS)" }}
                ". Declared consumers: " {consumers}
            </p>
            {current}
            {follows}
            {(!p.outranked_by.is_empty()).then(|| view! {
                <p class="rounded bg-amber-50 p-2 text-sm text-amber-900" data-test="policy-outranked">
                    {format!(
                        "Kuma ranks {} above Bearing's policy for this service (a more specific targetRef): for every caller named there, that policy decides, not this one. Narrow or retire it for the proposal to take full effect.",
                        p.outranked_by.join(", ")
                    )}
                </p>
            })}
            <div class="grid gap-4 md:grid-cols-2">
                <div>
                    <h3 class="text-sm font-semibold text-red-800">"Would be denied"</h3>
                    {callers(p.would_deny, "Nobody who calls it now.")}
                </div>
                <div>
                    <h3 class="text-sm font-semibold text-emerald-800">"Would be let in"</h3>
                    {callers(p.would_allow, "Nobody denied now.")}
                </div>
            </div>
            <details class="text-sm" open=p.current.is_some()>
                <summary class="cursor-pointer text-slate-700">"Diff from the policy in the mesh"</summary>
                <pre class="mt-1 max-h-80 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-test="policy-diff">{p.diff}</pre>
            </details>
            <details class="text-sm">
                <summary class="cursor-pointer text-slate-700">"Proposed policy (Kuma universal YAML)"</summary>
                <pre class="mt-1 max-h-80 overflow-auto rounded bg-slate-100 p-3 text-xs">{p.proposed.yaml}</pre>
            </details>
            <details class="text-sm">
                <summary class="cursor-pointer text-slate-700">"Its shadow phase (Kuma universal YAML)"</summary>
                <pre class="mt-1 max-h-80 overflow-auto rounded bg-slate-100 p-3 text-xs">{p.shadow_phase.yaml}</pre>
            </details>
            {read_only.then(|| view! {
                <div class="rounded bg-amber-50 p-3 text-sm text-amber-900" data-test="policy-read-only">
                    "This control plane is read-only (Kubernetes or a zone): Bearing cannot write the policy. Apply this manifest with "
                    <code>"kubectl apply -f"</code>" or commit it to your GitOps repository. "
                    <a class="underline" href=manifest_href data-test="policy-manifest">"Download the manifest"</a>
                    <pre class="mt-2 max-h-80 overflow-auto rounded bg-white p-3 text-xs">{p.proposed.kubernetes_yaml}</pre>
                </div>
            })}
            {forms}
            {history}
        </div>
    }
}
