//! `/admin`: role mappings, users and their sessions, API tokens, and the audit signing key.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::audit::api::get_audit_key;
use crate::audit::components::AuditKeyPanel;
use crate::auth::api::{
    get_role_settings, list_tokens, list_users, ChangeRoleMapping, CreateToken, EndUserSessions, RevokeToken,
};
use crate::delivery::components::UnmappedSection;
use crate::error::error_fallback;
use crate::ui::Loading;

/// `/admin`: role mappings, users (end their sessions) and API tokens.
#[component]
pub fn AdminPage() -> impl IntoView {
    let change_mapping = ServerAction::<ChangeRoleMapping>::new();
    let end_sessions = ServerAction::<EndUserSessions>::new();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let settings = Resource::new(move || change_mapping.version().get(), |_| get_role_settings());
    let users = Resource::new(move || end_sessions.version().get(), |_| list_users());
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let audit_key = Resource::new(|| (), |_| get_audit_key());
    let cell = "border-b border-slate-100 px-2 py-1.5 text-left align-top";
    view! {
        <Title text="Administration"/>
        <h1 class="mb-6 text-2xl font-semibold">"Administration"</h1>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                <section aria-labelledby="roles-h" class="mb-10">
                    <h2 id="roles-h" class="mb-2 text-lg font-semibold">"Roles from identity-provider groups"</h2>
                    {move || Suspend::new(async move {
                        settings.await.map(|s| view! {
                            <div class="mb-4 max-w-3xl rounded border border-slate-200 bg-slate-50 p-3 text-sm text-slate-700" data-test="privileges-how">
                                <p class="font-medium">"How privileges are granted"</p>
                                <p class="mt-1">
                                    "Bearing grants nothing because of a group's name. Everyone signed in is a viewer; a person gets more only from:"
                                </p>
                                <ul class="mt-1 list-disc pl-5">
                                    <li data-test="bootstrap-admins">
                                        {if s.bootstrap_admins.is_empty() {
                                            "Bootstrap admins: none. Start Bearing with --bootstrap-admin ISSUER:SUBJECT (the person's issuer and `sub`) to name the first admin of a fresh install.".to_owned()
                                        } else {
                                            format!("Bootstrap admins (--bootstrap-admin): {}.", s.bootstrap_admins.join(", "))
                                        }}
                                    </li>
                                    <li data-test="mapping-file">
                                        {match &s.mapping_file {
                                            None => "Role-mapping file: none. --role-mapping-file FILE (JSON or TOML) maps groups to roles from configuration.".to_owned(),
                                            Some(f) => format!("Role-mapping file {f}: {} mapping(s), listed below; change them in the file and restart.", s.file_mappings.len()),
                                        }}
                                    </li>
                                    <li>"Mappings admins add on this page (below)."</li>
                                    <li>
                                        {if s.lead_group_suffix.is_empty() {
                                            "The lead-group convention is off (--lead-group-suffix).".to_owned()
                                        } else {
                                            format!("A group named <team>{} makes a lead of catalog Group <team> (--lead-group-suffix).", s.lead_group_suffix)
                                        }}
                                    </li>
                                    <li>"API tokens, which carry the role they were created with."</li>
                                </ul>
                                <p class="mt-1">{if s.anonymous_read { "Anonymous visitors may read the catalog." } else { "Anonymous visitors must sign in." }}</p>
                            </div>
                            {(!s.file_mappings.is_empty()).then(|| view! {
                                <table class="mb-4 w-full max-w-2xl text-sm" data-test="file-role-mappings">
                                    <caption class="text-left text-sm font-medium">{format!("From {}", s.mapping_file.clone().unwrap_or_default())}</caption>
                                    <thead><tr><th class=cell>"Group"</th><th class=cell>"Role"</th><th class=cell>"Team"</th></tr></thead>
                                    <tbody>
                                        {s.file_mappings.into_iter().map(|m| view! {
                                            <tr><td class=cell>{m.idp_group}</td><td class=cell>{m.role.as_str()}</td><td class=cell>{m.team}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            })}
                            <table class="w-full max-w-2xl text-sm" data-test="role-mappings">
                                <caption class="text-left text-sm font-medium">"Added on this page"</caption>
                                <thead><tr><th class=cell>"Group"</th><th class=cell>"Role"</th><th class=cell>"Team"</th><th class=cell></th></tr></thead>
                                <tbody>
                                    {s.mappings.into_iter().map(|m| view! {
                                        <tr>
                                            <td class=cell>{m.idp_group.clone()}</td><td class=cell>{m.role.as_str()}</td><td class=cell>{m.team.clone()}</td>
                                            <td class=cell>
                                                <ActionForm action=change_mapping>
                                                    <input type="hidden" name="idp_group" value=m.idp_group/>
                                                    <input type="hidden" name="role" value=m.role.as_str()/>
                                                    <input type="hidden" name="team" value=m.team/>
                                                    <input type="hidden" name="add" value="false"/>
                                                    <button class="text-red-700 hover:underline">"Remove"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })
                    })}
                    <ActionForm action=change_mapping attr:class="mt-3 flex flex-wrap items-end gap-2 text-sm">
                        <label class="flex flex-col">"Group"<input name="idp_group" required class="rounded border px-2 py-1"/></label>
                        <label class="flex flex-col">"Role"
                            <select name="role" class="rounded border px-2 py-1">
                                <option value="viewer">"viewer"</option><option value="lead">"lead"</option>
                                <option value="auditor">"auditor"</option><option value="admin">"admin"</option>
                            </select>
                        </label>
                        <label class="flex flex-col">"Team (leads)"<input name="team" class="rounded border px-2 py-1" placeholder="team-checkout"/></label>
                        <input type="hidden" name="add" value="true"/>
                        <button class="rounded bg-indigo-600 px-3 py-1.5 text-white">"Add mapping"</button>
                    </ActionForm>
                    {move || change_mapping.value().get().and_then(Result::err).map(|e| view! {
                        <p class="mt-2 text-sm text-red-700" role="alert">{e.to_string()}</p>
                    })}
                </section>

                <section aria-labelledby="tokens-h" class="mb-10">
                    <h2 id="tokens-h" class="mb-2 text-lg font-semibold">"API tokens"</h2>
                    <ActionForm action=create attr:class="mb-3 flex flex-wrap items-end gap-2 text-sm">
                        <label class="flex flex-col">"Name"<input name="name" required class="rounded border px-2 py-1"/></label>
                        <label class="flex flex-col">"Role"
                            <select name="role" class="rounded border px-2 py-1">
                                <option value="viewer">"viewer"</option><option value="producer">"producer"</option>
                                <option value="lead">"lead"</option>
                                <option value="auditor">"auditor"</option><option value="admin">"admin"</option>
                            </select>
                        </label>
                        <label class="flex flex-col">"Team (lead tokens)"<input name="team" class="rounded border px-2 py-1"/></label>
                        <label class="flex flex-col">"Reports on (producer tokens)"
                            <input name="scopes" class="rounded border px-2 py-1" placeholder="team-data, component:default/orders-etl"/>
                        </label>
                        <label class="flex flex-col">"Expires in days"<input name="expires_days" inputmode="numeric" class="w-24 rounded border px-2 py-1"/></label>
                        <button class="rounded bg-indigo-600 px-3 py-1.5 text-white">"Create token"</button>
                    </ActionForm>
                    {move || create.value().get().map(|r| match r {
                        Ok(t) => view! {
                            <p class="mb-3 rounded bg-emerald-50 px-3 py-2 text-sm" role="status">
                                "Token created. Copy it now; it will not be shown again: "
                                <code class="select-all font-mono" data-test="new-token">{t.token}</code>
                            </p>
                        }.into_any(),
                        Err(e) => view! { <p class="mb-3 text-sm text-red-700" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                    {move || Suspend::new(async move {
                        tokens.await.map(|list| view! {
                            <table class="w-full text-sm" data-test="tokens">
                                <thead><tr>
                                    <th class=cell>"Name"</th><th class=cell>"Token"</th><th class=cell>"Role"</th><th class=cell>"Created"</th>
                                    <th class=cell>"Last used"</th><th class=cell>"Expires"</th><th class=cell>"Status"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| {
                                        let live = t.revoked_at.is_none();
                                        view! {
                                            <tr>
                                                <td class=cell>{t.name}</td>
                                                <td class=cell><code>{format!("{}…", t.prefix)}</code></td>
                                                <td class=cell>{t.role.as_str()}{t.team.map(|team| format!(" of {team}"))}{(!t.scopes.is_empty()).then(|| format!(" for {}", t.scopes.join(", ")))}</td>
                                                <td class=cell>{t.created_at}" by "{t.created_by}</td>
                                                <td class=cell>{t.last_used_at.unwrap_or_else(|| "never".into())}</td>
                                                <td class=cell>{t.expires_at.unwrap_or_else(|| "never".into())}</td>
                                                <td class=cell>
                                                    {if live {
                                                        view! {
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="id" value=t.id/>
                                                                <button class="text-red-700 hover:underline">"Revoke"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    } else {
                                                        view! { <span>{format!("revoked {} by {}", t.revoked_at.unwrap_or_default(), t.revoked_by.unwrap_or_default())}</span> }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })
                    })}
                </section>

                <UnmappedSection/>

                <section aria-labelledby="users-h">
                    <h2 id="users-h" class="mb-2 text-lg font-semibold">"Users"</h2>
                    {move || Suspend::new(async move {
                        users.await.map(|list| view! {
                            <table class="w-full text-sm" data-test="users">
                                <thead><tr><th class=cell>"Name"</th><th class=cell>"Groups"</th><th class=cell>"Roles"</th><th class=cell>"Last login"</th><th class=cell></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! {
                                        <tr>
                                            <td class=cell>{u.name.unwrap_or_default()}<br/><span class="text-slate-500">{u.email.unwrap_or_default()}</span><br/><code class="break-all text-xs text-slate-500" title="issuer:subject, as --bootstrap-admin takes it">{u.principal}</code></td>
                                            <td class=cell>{u.groups.join(", ")}</td>
                                            <td class=cell>{u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")}{(!u.lead_of.is_empty()).then(|| format!(" ({})", u.lead_of.join(", ")))}</td>
                                            <td class=cell>{u.last_login_at}</td>
                                            <td class=cell>
                                                <ActionForm action=end_sessions>
                                                    <input type="hidden" name="id" value=u.id/>
                                                    <button class="text-red-700 hover:underline">"End all sessions"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        })
                    })}
                </section>
            </ErrorBoundary>
        </Suspense>
        <div class="mt-10"><AuditKeyPanel key=audit_key/></div>
    }
}
