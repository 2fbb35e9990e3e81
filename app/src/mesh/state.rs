//! A mesh's services and traffic policies, read and parsed once per change of the mesh or the
//! catalog rather than on every page.
//!
//! Judging who may call whom needs every MeshTrafficPermission, TrafficPermission and
//! MeshService of the mesh and which component claims each service: thousands of JSON bodies in
//! a large mesh, read and parsed on each entity page and mesh card. They change only when a poll
//! stores something new or a policy is written, which give the mesh row a new `policy_version`
//! (a digest of what the set is read from), or when the catalog changes which component claims a
//! service (the read cache's generation). The caller passes the version it read with its mesh or
//! service row, so a read right after a poll never meets the previous set, and a poll that
//! brought nothing new (most of them) costs no reload: keying by the poll time reloaded the set
//! every 15 seconds, and the page that did it waited for thousands of bodies to parse.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bearing_kuma::model::{MeshTrafficPermission, TrafficPermission};

use super::repo;
use super::service::{parse_all, MeshServiceIndex, Workloads};
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Meshes remembered at once; when full, the memory starts over.
const MAX_MESHES: usize = 256;

/// One mesh as the permission judges read it.
#[derive(Debug, Default)]
pub struct MeshPolicySet {
    /// Every service with the component claiming it and its gateway type, if it is one.
    pub services: Vec<(String, Option<String>, Option<String>)>,
    /// The MeshTrafficPermissions Kuma judges callers by (in a MeshIdentity mesh, `rules[]` only).
    pub mesh_traffic_permissions: Vec<MeshTrafficPermission>,
    pub traffic_permissions: Vec<TrafficPermission>,
    pub mesh_services: MeshServiceIndex,
    /// Every service of `services` as a workload (tags, gateway kind, identity, SNIs).
    pub workloads: Workloads,
    /// The permissions that select each service, found when first asked.
    pub relevant: RelevantPolicies,
}

/// The MeshTrafficPermissions of a set that select each of its services, found on first use and
/// kept with the set: every page judging calls to a service needs them, and finding them asks
/// each of the mesh's policies (thousands in a large mesh) whether it selects the service.
#[derive(Debug, Default)]
pub struct RelevantPolicies(Mutex<HashMap<String, Arc<Vec<MeshTrafficPermission>>>>);

impl RelevantPolicies {
    /// The policies selecting `service`, from memory or from `find`. Holds at most one entry per
    /// service the set was asked about.
    pub fn get_or_find(
        &self,
        service: &str,
        find: impl FnOnce() -> Vec<MeshTrafficPermission>,
    ) -> Arc<Vec<MeshTrafficPermission>> {
        if let Some(found) = self.0.lock().ok().and_then(|known| known.get(service).cloned()) {
            return found;
        }
        let found = Arc::new(find());
        if let Ok(mut known) = self.0.lock() {
            known.insert(service.to_owned(), found.clone());
        }
        found
    }
}

type Key = (String, String);
/// Catalog generation, policy version, mTLS on, identity system: what an entry is valid for.
type Version = (u64, String, bool, Option<String>);
type Entry = (Version, Arc<MeshPolicySet>);

/// Parsed mesh policy sets by `(control plane, mesh)`. Cheap to clone (shared).
#[derive(Clone, Debug, Default)]
pub struct MeshStateCache {
    entries: Arc<Mutex<HashMap<Key, Entry>>>,
    /// Held while a set is read from the database, so that the requests arriving after a poll
    /// wait for one load instead of each reading and parsing thousands of bodies at once (64
    /// concurrent pages on a 3,000-service mesh emptied the connection pool for seconds).
    loading: Arc<tokio::sync::Mutex<()>>,
    loads: Arc<AtomicU64>,
}

impl MeshStateCache {
    /// How many sets were read from the database since start: one per mesh and change when the
    /// cache works.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    fn get(&self, key: &Key, version: &Version) -> Option<Arc<MeshPolicySet>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(v, _)| v == version)
            .map(|(_, set)| set.clone())
    }

    fn put(&self, key: Key, version: Version, set: Arc<MeshPolicySet>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_MESHES {
                entries.clear();
            }
            entries.insert(key, (version, set));
        }
    }
}

/// The mesh a policy set is for, as the caller read its row.
pub struct MeshRef<'a> {
    pub control_plane: &'a str,
    pub mesh: &'a str,
    pub mtls_enabled: bool,
    /// `mesh_identity` when its proxies have workload identities.
    pub identity: Option<&'a str>,
    /// The `policy_version` of the row the caller read.
    pub policy_version: &'a str,
}

/// The policy set of a mesh, from memory when neither the mesh nor the catalog changed since it
/// was read.
pub(crate) async fn policy_set(ctx: &ServerCtx, m: MeshRef<'_>) -> Result<Arc<MeshPolicySet>, AppError> {
    let (control_plane, mesh, mtls_enabled, identity) = (m.control_plane, m.mesh, m.mtls_enabled, m.identity);
    // Read before loading: a change during the load leaves the entry stale-keyed, not wrong.
    let version = (
        ctx.cache.generation(),
        m.policy_version.to_owned(),
        mtls_enabled,
        identity.map(str::to_owned),
    );
    let key = (control_plane.to_owned(), mesh.to_owned());
    if let Some(set) = ctx.mesh_state.get(&key, &version) {
        return Ok(set);
    }
    let _loading = ctx.mesh_state.loading.lock().await;
    // Whoever held the lock before may have loaded this very version.
    if let Some(set) = ctx.mesh_state.get(&key, &version) {
        return Ok(set);
    }
    // The four reads at once, on their own connections: the pages waiting for this load wait
    // for the slowest of them rather than their sum.
    let (mtps, services, tps, mesh_services) = tokio::try_join!(
        repo::resources(&ctx.pool, control_plane, mesh, "MeshTrafficPermission"),
        repo::mesh_service_names(&ctx.pool, control_plane, mesh),
        repo::resources(&ctx.pool, control_plane, mesh, "TrafficPermission"),
        repo::resources(&ctx.pool, control_plane, mesh, "MeshService"),
    )?;
    ctx.mesh_state.loads.fetch_add(1, Ordering::Relaxed);
    let mtps: Vec<MeshTrafficPermission> = parse_all(mtps, "MeshTrafficPermission");
    let mesh_services = MeshServiceIndex::new(parse_all(mesh_services, "MeshService"));
    let set = Arc::new(MeshPolicySet {
        workloads: Workloads::new(&services, &mesh_services),
        relevant: RelevantPolicies::default(),
        services,
        mesh_traffic_permissions: if mtls_enabled && identity == Some("mesh_identity") {
            bearing_kuma::identity::rules_only(&mtps)
        } else {
            mtps
        },
        traffic_permissions: parse_all(tps, "TrafficPermission"),
        mesh_services,
    });
    ctx.mesh_state.put(key, version, set.clone());
    Ok(set)
}
