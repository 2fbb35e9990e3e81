//! What a write of mesh state changed, told to every server so that it drops only the pages
//! showing it (`server::page_cache`).
//!
//! Pages mark the components whose mesh state they show ([`crate::rendered`]), so a change is
//! told as the components it touches: those whose Kuma service (`kuma.io/service`, else the
//! component's name, as on the mesh card) a poll found changed. What every mesh page depends on
//! is told as [`Changed::Everything`]: the meshes (mTLS), the policies and other resources,
//! and which proxies exist with which labels and gateway, since callers are judged by those
//! (a new proxy can change who may call any service). A proxy going on or offline, a
//! certificate rotating, a service's status counts (also in its MeshService's status) and
//! traffic touch their service alone.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

use super::write::{ResourceRow, Snapshot};

/// A `NOTIFY` payload must stay under 8,000 bytes; a longer list is told as everything.
const MAX_PAYLOAD_BYTES: usize = 7_000;

/// What a write changed, as told to the servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Anything may have changed: every page showing mesh state is stale.
    Everything,
    /// Only the mesh state of these components (reference keys, lower case).
    Components(BTreeSet<String>),
}

impl Changed {
    /// The notification payload: a JSON array of reference keys, or empty for everything (as
    /// every notifier that names nothing sends).
    fn to_payload(&self) -> String {
        match self {
            Changed::Everything => String::new(),
            Changed::Components(refs) => {
                let json = serde_json::to_string(refs).unwrap_or_default();
                if json.len() > MAX_PAYLOAD_BYTES {
                    String::new()
                } else {
                    json
                }
            }
        }
    }

    /// The change a payload tells; anything that is not a list of names means everything.
    pub fn from_payload(payload: &str) -> Changed {
        serde_json::from_str::<BTreeSet<String>>(payload).map_or(Changed::Everything, Changed::Components)
    }
}

/// Digests of a poll's state, by what they affect: [`Digests::shared`] what every mesh page
/// depends on, [`Digests::services`] each Kuma service's own state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Digests {
    shared: String,
    services: BTreeMap<String, String>,
}

impl Digests {
    /// The digests of `snap`, whatever order the control plane listed it in.
    pub(super) fn of(snap: &Snapshot) -> Digests {
        let mut shared: Vec<String> = Vec::new();
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        shared.extend(snap.meshes.iter().map(|m| format!("{m:?}")));
        for r in &snap.resources {
            match split_mesh_service(r) {
                Some(parts) => {
                    shared.push(format!("{:?}", (&r.mesh, r.kind, &r.name, parts.rest)));
                    services.entry(parts.service).or_default().push(parts.counts);
                }
                None => shared.push(format!("{r:?}")),
            }
        }
        for p in &snap.proxies {
            shared.push(format!("{:?}", (&p.mesh, &p.name, &p.services, &p.gateway, &p.labels)));
            let state = format!("{:?}", (&p.mesh, &p.name, &p.status, &p.cert_expires_at, &p.cert_state));
            for service in &p.services {
                services.entry(service.clone()).or_default().push(state.clone());
            }
        }
        for s in &snap.services {
            // The set of services is shared: a new one is a new possible caller of every other.
            shared.push(format!("service {:?}", (&s.mesh, &s.service)));
            services.entry(s.service.clone()).or_default().push(format!("{s:?}"));
        }
        Digests {
            shared: digest(shared),
            services: services
                .into_iter()
                .map(|(name, lines)| (name, digest(lines)))
                .collect(),
        }
    }

    /// The services whose state differs between `before` and `self`; `None` when what every
    /// page depends on changed (or nothing is known of `before`).
    pub(super) fn changed_since(&self, before: Option<&Digests>) -> Option<BTreeSet<String>> {
        let before = before.filter(|b| b.shared == self.shared)?;
        let names: BTreeSet<&String> = before.services.keys().chain(self.services.keys()).collect();
        Some(
            names
                .into_iter()
                .filter(|name| before.services.get(*name) != self.services.get(*name))
                .cloned()
                .collect(),
        )
    }
}

/// A MeshService split into what callers are judged by and the proxy counts of its status.
pub(super) struct MeshServiceParts {
    /// The Kuma service it stands for: the `kuma.io/service` its selector picks, else its name.
    pub service: String,
    /// The resource without the counts, as JSON text.
    pub rest: String,
    /// The counts, as text: they move with every proxy of the service going on or offline
    /// (Kuma's `status.dataplaneProxies`, and the modification time that moves with them).
    pub counts: String,
}

/// `r` split when it is a MeshService whose body is a JSON object; `None` otherwise.
pub(super) fn split_mesh_service(r: &ResourceRow) -> Option<MeshServiceParts> {
    if r.kind != "MeshService" {
        return None;
    }
    let mut body: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let modified = body.as_object_mut()?.remove("modificationTime");
    let proxies = body
        .get_mut("status")
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|status| status.remove("dataplaneProxies"));
    let service = body
        .pointer("/spec/selector/dataplaneTags/kuma.io~1service")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(&r.name)
        .to_owned();
    Some(MeshServiceParts {
        service,
        rest: body.to_string(),
        counts: format!("{:?}", (modified, proxies)),
    })
}

/// A short digest of `lines` in sorted order (64 bits: it tells changes apart, it guards
/// nothing).
fn digest(mut lines: Vec<String>) -> String {
    lines.sort_unstable();
    let mut h = Sha256::new();
    for line in lines {
        h.update(line.len().to_le_bytes());
        h.update(line.as_bytes());
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Tells every listening server (on commit) that the state of `services` changed, or
/// everything when `None`: names the components those services stand for.
pub(super) async fn notify(db: &mut sqlx::PgConnection, services: Option<&BTreeSet<String>>) -> sqlx::Result<()> {
    let changed = match services {
        None => Changed::Everything,
        Some(services) => Changed::Components(components_of(&mut *db, services).await?),
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(super::CHANGED_CHANNEL)
        .bind(changed.to_payload())
        .execute(db)
        .await
        .map(drop)
}

/// The components that map to any of `services`, as their mesh cards map them: all of them,
/// not only the one `mesh_component_for` picks for the mesh's own lists, since every such
/// component's card shows the service. (A `kuma.io/mesh` restriction is not applied: naming a
/// component of another mesh only renders its pages once more.)
async fn components_of(db: impl PgExecutor<'_>, services: &BTreeSet<String>) -> sqlx::Result<BTreeSet<String>> {
    if services.is_empty() {
        return Ok(BTreeSet::new());
    }
    let refs: Vec<String> = sqlx::query_scalar(
        "SELECT ref FROM entities
          WHERE kind = 'component' AND COALESCE(annotations ->> 'kuma.io/service', name) = ANY($1)",
    )
    .bind(services.iter().collect::<Vec<_>>())
    .fetch_all(db)
    .await?;
    Ok(refs.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::super::write::{MeshRow, ResourceRow, ServiceRow};
    use super::super::ProxyRow;
    use super::*;

    fn proxy(name: &str, service: &str, status: &str) -> ProxyRow {
        ProxyRow {
            mesh: "default".into(),
            name: name.into(),
            services: vec![service.into()],
            gateway: None,
            status: status.into(),
            cert_expires_at: None,
            cert_state: "valid".into(),
            labels: [("kuma.io/service".to_owned(), service.to_owned())]
                .into_iter()
                .collect(),
        }
    }

    fn service(name: &str, online: i32) -> ServiceRow {
        ServiceRow {
            mesh: "default".into(),
            service: name.into(),
            status: if online > 0 { "online" } else { "offline" }.into(),
            total: 1,
            online,
            offline: 1 - online,
            partially_degraded: 0,
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            meshes: vec![MeshRow {
                mesh: "default".into(),
                mtls_enabled: true,
                mtls_backend: Some("ca-1".into()),
                mtls_type: Some("builtin".into()),
                mtls_mode: Some("STRICT".into()),
                identity: Some("mesh_mtls"),
                policy_counts: serde_json::json!({}),
            }],
            proxies: vec![proxy("a-1", "a", "online"), proxy("b-1", "b", "online")],
            services: vec![service("a", 1), service("b", 1)],
            resources: vec![
                ResourceRow {
                    mesh: "default".into(),
                    kind: "MeshTrafficPermission",
                    name: "allow-all".into(),
                    body: "{}".into(),
                },
                mesh_service("b", 1),
            ],
        }
    }

    /// A MeshService as Kuma serves it (trimmed), standing for `service` with `connected` proxies.
    fn mesh_service(service: &str, connected: u32) -> ResourceRow {
        let body = serde_json::json!({
            "type": "MeshService", "mesh": "default", "name": format!("{service}-msvc"),
            "modificationTime": format!("2026-12-06T03:12:{connected:02}Z"),
            "spec": {"selector": {"dataplaneTags": {"kuma.io/service": service}}, "ports": [{"port": 8080}]},
            "status": {"tls": {"status": "Ready"}, "dataplaneProxies": {"connected": connected, "healthy": connected, "total": 1}}
        });
        ResourceRow {
            mesh: "default".into(),
            kind: "MeshService",
            name: format!("{service}-msvc"),
            body: body.to_string(),
        }
    }

    fn changed(edit: impl FnOnce(&mut Snapshot)) -> Option<Vec<String>> {
        let before = Digests::of(&snapshot());
        let mut after = snapshot();
        edit(&mut after);
        Digests::of(&after)
            .changed_since(Some(&before))
            .map(|names| names.into_iter().collect())
    }

    #[test]
    fn a_proxy_or_service_status_change_touches_its_service_alone() {
        assert_eq!(changed(|_| {}), Some(vec![]), "nothing changed");
        assert_eq!(
            changed(|s| s.proxies[0].status = "offline".into()),
            Some(vec!["a".into()])
        );
        assert_eq!(
            changed(|s| s.proxies[1].cert_state = "expired".into()),
            Some(vec!["b".into()])
        );
        assert_eq!(changed(|s| s.services[1] = service("b", 0)), Some(vec!["b".into()]));
        assert_eq!(changed(|s| s.proxies.reverse()), Some(vec![]), "order is not a change");
        assert_eq!(
            changed(|s| s.resources[1] = mesh_service("b", 0)),
            Some(vec!["b".into()]),
            "a MeshService's proxy counts are its service's"
        );
    }

    #[test]
    fn what_every_page_depends_on_is_a_change_of_everything() {
        assert_eq!(changed(|s| s.meshes[0].mtls_mode = Some("PERMISSIVE".into())), None);
        assert_eq!(changed(|s| s.resources[0].body = "{\"spec\":{}}".into()), None);
        assert_eq!(
            changed(|s| s.resources[1].body = s.resources[1].body.replace("8080", "9090")),
            None,
            "a MeshService's ports and selector are every page's"
        );
        assert_eq!(
            changed(|s| {
                s.proxies[0].labels.insert("team".into(), "payments".into());
            }),
            None,
            "labels decide which policies select a caller"
        );
        assert_eq!(
            changed(|s| s.proxies.push(proxy("a-2", "a", "online"))),
            None,
            "a new proxy"
        );
        assert_eq!(changed(|s| s.services.push(service("c", 1))), None, "a new service");
        assert_eq!(
            Digests::of(&snapshot()).changed_since(None),
            None,
            "nothing known of before"
        );
    }

    #[test]
    fn payloads_round_trip_and_a_long_one_means_everything() {
        let some = Changed::Components(["component:default/a".to_owned()].into_iter().collect());
        assert_eq!(Changed::from_payload(&some.to_payload()), some);
        assert_eq!(
            Changed::from_payload(&Changed::Everything.to_payload()),
            Changed::Everything
        );
        assert_eq!(
            Changed::from_payload(""),
            Changed::Everything,
            "notifiers that name nothing"
        );
        assert_eq!(Changed::from_payload("{\"x\":1}"), Changed::Everything);
        let many = Changed::Components((0..1_000).map(|i| format!("component:default/service-{i}")).collect());
        assert_eq!(Changed::from_payload(&many.to_payload()), Changed::Everything);
        let none = Changed::Components(BTreeSet::new());
        assert_eq!(
            Changed::from_payload(&none.to_payload()),
            none,
            "a change of unmapped services"
        );
    }
}
