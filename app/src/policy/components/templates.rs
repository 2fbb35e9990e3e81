//! The entity page's templated policies: for each admin template that selects the component
//! (timeouts by tier, access logs by lifecycle, ...), the policy in the mesh against the
//! proposal, and apply, adopt or roll back for a lead of the owning team or an admin.

use leptos::prelude::*;

use super::written;
use crate::error::{AppError, SectionError};
use crate::policy::api::{AdoptTemplatePolicy, ApplyTemplatePolicy, RollbackTemplatePolicy};
use crate::policy::{TemplatePolicies, TemplatePolicy};
use crate::ui::Loading;

/// The section's three writes.
#[derive(Clone, Copy)]
pub struct TemplateWrites {
    pub apply: ServerAction<ApplyTemplatePolicy>,
    pub rollback: ServerAction<RollbackTemplatePolicy>,
    pub adopt: ServerAction<AdoptTemplatePolicy>,
}

impl TemplateWrites {
    pub fn new() -> Self {
        TemplateWrites {
            apply: ServerAction::new(),
            rollback: ServerAction::new(),
            adopt: ServerAction::new(),
        }
    }

    /// Changes with every write, to refetch what they change.
    pub fn version(&self) -> usize {
        self.apply.version().get() + self.rollback.version().get() + self.adopt.version().get()
    }
}

impl Default for TemplateWrites {
    fn default() -> Self {
        Self::new()
    }
}

/// The section; nothing when no template selects the component or it is not in the mesh.
#[component]
pub fn TemplatePoliciesSection(
    list: Resource<Result<Option<TemplatePolicies>, AppError>>,
    namespace: String,
    name: String,
    writes: TemplateWrites,
) -> impl IntoView {
    view! {
        <Transition fallback=Loading>
            {
                let (namespace, name) = (namespace.clone(), name.clone());
                move || {
                    let (namespace, name) = (namespace.clone(), name.clone());
                    Suspend::new(async move {
                        match list.await {
                            Ok(Some(l)) if !l.items.is_empty() => section(l, namespace, name, writes).into_any(),
                            Ok(_) => ().into_any(),
                            Err(error) => view! { <SectionError what="the templated policies" error=error/> }.into_any(),
                        }
                    })
                }
            }
        </Transition>
    }
}

fn section(l: TemplatePolicies, namespace: String, name: String, writes: TemplateWrites) -> impl IntoView {
    let read_only = l.write_path == "read_only";
    let can_apply = l.can_apply && !read_only;
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="templates-heading" data-test="template-policies">
            <h2 id="templates-heading" class="font-semibold">"Policies from templates"</h2>
            <p class="mt-1 text-sm text-slate-600">
                {format!("Kuma policies the platform's templates give this component (service {} in mesh {}).", l.service, l.mesh)}
                {read_only.then_some(" The control plane is read-only: apply each manifest with kubectl or GitOps.")}
            </p>
            {move || written(writes.apply.value().get(), "Applied")}
            {move || written(writes.rollback.value().get(), "Rolled back")}
            {move || written(writes.adopt.value().get(), "Adopted")}
            <ul class="mt-3 space-y-3">
                {l.items.into_iter().map(|p| item(p, &namespace, &name, can_apply, writes)).collect_view()}
            </ul>
        </section>
    }
}

/// Where the policy stands, as a short badge.
fn status(p: &TemplatePolicy) -> (&'static str, &'static str) {
    match &p.current {
        _ if p.up_to_date => ("applied", "bg-emerald-100 text-emerald-900"),
        Some(c) if c.edited_outside => ("edited outside Bearing", "bg-amber-100 text-amber-900"),
        Some(c) if !c.managed => (
            "a policy Bearing did not create has this name",
            "bg-amber-100 text-amber-900",
        ),
        Some(_) => ("differs from the template", "bg-amber-100 text-amber-900"),
        None => ("not applied", "bg-slate-100 text-slate-700"),
    }
}

fn item(p: TemplatePolicy, namespace: &str, name: &str, can_apply: bool, writes: TemplateWrites) -> impl IntoView {
    let input = "rounded border border-slate-300 px-2 py-1";
    let (label, class) = status(&p);
    let edited = p.current.as_ref().is_some_and(|c| c.edited_outside);
    let hidden = |value: String, field: &'static str| view! { <input type="hidden" name=field value=value/> };
    let fields = {
        let (ns, n, t) = (namespace.to_owned(), name.to_owned(), p.template.clone());
        move || {
            (
                hidden(ns.clone(), "namespace"),
                hidden(n.clone(), "name"),
                hidden(t.clone(), "template"),
            )
        }
    };
    let (apply_fields, adopt_fields, rollback_fields) = (fields.clone(), fields.clone(), fields);
    let forms = can_apply.then(|| {
        let hash = p.proposed.hash.clone();
        view! {
            <div class="mt-2 flex flex-wrap gap-4">
                {(!p.up_to_date).then(|| view! {
                    <ActionForm action=writes.apply attr:class="flex items-end gap-2" attr:data-test="template-apply-form">
                        {apply_fields()}
                        <input type="hidden" name="expected_hash" value=hash/>
                        <label class="flex flex-col text-sm">"Reason"<input name="reason" required maxlength="1000" class=input/></label>
                        <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Apply"</button>
                    </ActionForm>
                })}
                {edited.then(|| view! {
                    <ActionForm action=writes.adopt attr:class="flex items-end gap-2" attr:data-test="template-adopt-form">
                        {adopt_fields()}
                        <label class="flex flex-col text-sm">"Reason"<input name="reason" required maxlength="1000" class=input/></label>
                        <button class="rounded border border-slate-300 px-3 py-1.5 text-sm">"Adopt the edit"</button>
                    </ActionForm>
                })}
                {p.can_rollback.then(|| view! {
                    <ActionForm action=writes.rollback attr:class="flex items-end gap-2" attr:data-test="template-rollback-form">
                        {rollback_fields()}
                        <label class="flex flex-col text-sm">"Reason"<input name="reason" required maxlength="1000" class=input/></label>
                        <button class="rounded border border-slate-300 px-3 py-1.5 text-sm">"Roll back"</button>
                    </ActionForm>
                })}
            </div>
        }
    });
    view! {
        <li class="rounded border border-slate-200 p-3" data-test-template=p.template.clone()>
            <div class="flex flex-wrap items-center gap-2">
                <span class="font-medium">{p.template.clone()}</span>
                <span class="text-sm text-slate-600">{p.kind.clone()}</span>
                <span class=format!("rounded px-1.5 py-0.5 text-xs {class}") data-test="template-status">{label}</span>
            </div>
            {p.description.clone().map(|d| view! { <p class="text-sm text-slate-600">{d}</p> })}
            <details class="mt-1 text-sm">
                <summary class="cursor-pointer text-slate-700">{format!("{} — diff from the mesh", p.proposed.name)}</summary>
                <pre class="mt-1 max-h-80 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100">{p.diff.clone()}</pre>
                <pre class="mt-1 max-h-80 overflow-auto rounded bg-slate-100 p-3 text-xs">{p.proposed.kubernetes_yaml.clone()}</pre>
            </details>
            {forms}
            {(!p.history.is_empty()).then(|| view! {
                <details class="mt-1 text-sm">
                    <summary class="cursor-pointer text-slate-700">"Bearing's changes"</summary>
                    <ul class="mt-1 space-y-1">
                        {p.history.iter().map(|h| view! { <li>{format!("{} · {} by {}: {}", h.at, h.action, h.actor, h.reason)}</li> }).collect_view()}
                    </ul>
                </details>
            })}
        </li>
    }
}
