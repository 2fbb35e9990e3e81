//! The default world parses with `bearing-kuma` and Kuma's rules give what the world configured;
//! it matches the demo catalog in `examples/`.

use crate::common::*;
use bearing_kuma::model::{
    self, DataplaneOverview, List, Mesh, MeshInsight, MeshService, MeshTrafficPermission, ServiceInsight,
    ServiceStatus, TrafficPermission,
};
use bearing_kuma::permissions::{evaluate, MeshPolicies, Workload};
use bearing_kuma::status::{
    certificate_state, mesh_mtls, proxy_status, services_from_proxies, CertificateState, ProxyStatus,
    DEFAULT_EXPIRES_SOON,
};
use kuma_sim::default_world::{self, CATALOG, EXTRA_SERVICES, LEFT_OUT};
use kuma_sim::spec::ProxyState;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

async fn parse<T: serde::de::DeserializeOwned>(sim: &TestSim, uri: &str) -> T {
    let reply = sim.get(uri).await;
    assert_eq!(reply.status.as_u16(), 200, "{uri}");
    model::parse::<T>(&reply.body).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

async fn overviews(sim: &TestSim, mesh: &str) -> Vec<DataplaneOverview> {
    let items = sim.all_items(&format!("/meshes/{mesh}/dataplanes+insights")).await;
    items
        .into_iter()
        .map(|v| serde_json::from_value::<DataplaneOverview>(v).expect("bearing-kuma parses the overview"))
        .collect()
}

#[tokio::test]
async fn every_endpoint_parses_with_bearing_kuma() {
    let sim = TestSim::default_world();
    let meshes: List<Mesh> = parse(&sim, "/meshes").await;
    assert_eq!(meshes.items.len(), 2);
    let _: Mesh = parse(&sim, "/meshes/default").await;
    let _: List<MeshInsight> = parse(&sim, "/mesh-insights").await;
    let _: MeshInsight = parse(&sim, "/mesh-insights/default").await;
    for mesh in ["default", "legacy"] {
        let _: List<DataplaneOverview> = parse(&sim, &format!("/meshes/{mesh}/dataplanes+insights")).await;
        let _: List<ServiceInsight> = parse(&sim, &format!("/meshes/{mesh}/service-insights")).await;
        let _: List<MeshService> = parse(&sim, &format!("/meshes/{mesh}/meshservices")).await;
        let _: List<MeshTrafficPermission> = parse(&sim, &format!("/meshes/{mesh}/meshtrafficpermissions")).await;
        let _: List<TrafficPermission> = parse(&sim, &format!("/meshes/{mesh}/traffic-permissions")).await;
    }
    let _: model::ResourceTypeList = parse(&sim, "/_resources").await;
    let error = sim.get("/meshes/nope").await;
    let error: model::ApiError = model::parse(&error.body).unwrap();
    assert_eq!((error.status, error.error_type.as_str()), (404, "/std-errors"));
}

#[tokio::test]
async fn statuses_are_what_the_world_configured() {
    let sim = TestSim::default_world();
    let world = default_world::world();
    let mut configured: BTreeMap<(String, String), ProxyState> = BTreeMap::new();
    for s in &world.services {
        for (p, name) in kuma_sim::WorldSpec::expanded_proxies(s)
            .iter()
            .zip(kuma_sim::WorldSpec::proxy_names(s))
        {
            configured.insert((s.mesh.clone(), name), p.status);
        }
    }
    let mut seen = 0;
    for mesh in ["default", "legacy"] {
        for dp in overviews(&sim, mesh).await {
            let want = configured[&(mesh.to_string(), dp.meta.name.clone())];
            let expected = match want {
                ProxyState::Online => ProxyStatus::Online,
                ProxyState::PartiallyDegraded => ProxyStatus::PartiallyDegraded,
                ProxyState::Offline | ProxyState::NeverConnected => ProxyStatus::Offline,
            };
            assert_eq!(proxy_status(&dp), expected, "{mesh}/{}", dp.meta.name);
            assert_eq!(dp.dataplane_insight.is_none(), want == ProxyState::NeverConnected);
            seen += 1;
        }
    }
    assert_eq!(seen, configured.len());

    // The named cases of the default world.
    let dps = overviews(&sim, "default").await;
    let by_name: BTreeMap<&str, &DataplaneOverview> = dps.iter().map(|d| (d.meta.name.as_str(), d)).collect();
    for offline in ["orders-2", "wishlist-1", "image-resizer-2", "orders-etl-1"] {
        assert_eq!(proxy_status(by_name[offline]), ProxyStatus::Offline, "{offline}");
    }
    assert_eq!(
        proxy_status(by_name["catalog-search-2"]),
        ProxyStatus::PartiallyDegraded
    );
    let gateway = by_name["api-gateway-1"]
        .dataplane
        .networking
        .gateway
        .as_ref()
        .expect("gateway");
    assert_eq!(gateway.kind(), model::GatewayType::Delegated);
    assert_eq!(proxy_status(by_name["api-gateway-1"]), ProxyStatus::Online);

    // Service insights are Kuma's roll-up of those proxies.
    let insights: List<ServiceInsight> = parse(&sim, "/meshes/default/service-insights").await;
    let rollup = services_from_proxies(&dps);
    assert_eq!(insights.items.len(), rollup.len());
    for insight in &insights.items {
        let r = &rollup[&insight.meta.name];
        assert_eq!(insight.status.as_ref(), Some(&r.status), "{}", insight.meta.name);
        assert_eq!(insight.dataplanes.online, r.proxies.online);
        assert_eq!(insight.dataplanes.offline, r.proxies.kuma_offline());
    }
    let status = |name: &str| {
        insights
            .items
            .iter()
            .find(|i| i.meta.name == name)
            .and_then(|i| i.status.clone())
            .unwrap()
    };
    assert_eq!(status("wishlist"), ServiceStatus::Offline);
    assert_eq!(status("orders"), ServiceStatus::PartiallyDegraded);
    assert_eq!(status("catalog-search"), ServiceStatus::PartiallyDegraded);
    assert_eq!(status("cart"), ServiceStatus::Online);
    let gw = insights.items.iter().find(|i| i.meta.name == "api-gateway").unwrap();
    assert_eq!(gw.kind(), model::ServiceType::GatewayDelegated);

    // Mesh insight counts agree.
    let mi: MeshInsight = parse(&sim, "/mesh-insights/default").await;
    let counts: bearing_kuma::status::ProxyCounts = dps.iter().map(proxy_status).collect();
    assert_eq!(mi.dataplanes, counts.as_stat());
}

#[tokio::test]
async fn mtls_and_certificates_are_what_the_world_configured() {
    let sim = TestSim::default_world();
    let default: Mesh = parse(&sim, "/meshes/default").await;
    let legacy: Mesh = parse(&sim, "/meshes/legacy").await;
    let state = mesh_mtls(&default);
    assert!(state.enabled);
    assert_eq!(state.backend_type.as_deref(), Some("builtin"));
    assert!(!mesh_mtls(&legacy).enabled);

    let now = origin();
    let mut states: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for dp in overviews(&sim, "default").await {
        let s = certificate_state(dp.dataplane_insight.as_ref(), now, DEFAULT_EXPIRES_SOON);
        states.entry(s.as_str()).or_default().push(dp.meta.name.clone());
        if let CertificateState::Ok { expires_at } = s {
            let days = (expires_at - now).whole_days();
            assert!((28..=30).contains(&days), "{}: {days} days", dp.meta.name);
        }
    }
    assert_eq!(states["expired"], ["fraud-check-1"]);
    assert_eq!(states["expires_soon"], ["inventory-2", "payments-1"]);
    assert_eq!(
        states["no_mtls"],
        ["orders-etl-1"],
        "only the proxy that never connected"
    );
    assert!(states["ok"].len() > 60);
    for dp in overviews(&sim, "legacy").await {
        let s = certificate_state(dp.dataplane_insight.as_ref(), now, DEFAULT_EXPIRES_SOON);
        assert_eq!(s, CertificateState::NoMtls);
    }
}

#[tokio::test]
async fn permissions_allow_declared_dependencies_and_deny_one() {
    let sim = TestSim::default_world();
    let mtps: Vec<MeshTrafficPermission> = sim
        .all_items("/meshes/default/meshtrafficpermissions")
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let tps: Vec<TrafficPermission> = sim
        .all_items("/meshes/legacy/traffic-permissions")
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(tps.len(), 1);
    assert_eq!(tps[0].meta.name, "invoicing-to-legacy-erp");
    let policies = MeshPolicies {
        mesh: "default",
        mtls_enabled: true,
        mesh_traffic_permissions: &mtps,
        traffic_permissions: &[],
    };
    let workload = |name: &str| {
        let w = Workload::service(name);
        if name == "api-gateway" {
            w.as_gateway(model::GatewayType::Delegated)
        } else {
            w
        }
    };
    for (from, to) in default_world::declared_edges() {
        if default_world::mesh_of(from) != "default" {
            continue;
        }
        let access = evaluate(&policies, &workload(from), &workload(to));
        let expect_allowed = (from, to) != default_world::DENIED && !default_world::UNGUARDED.contains(&to);
        assert_eq!(access.decision.allows(), expect_allowed, "{from} -> {to}: {access:?}");
    }
    let unguarded = evaluate(&policies, &workload("checkout"), &workload("tax-calculator"));
    assert!(format!("{:?}", unguarded.reason).contains("NoPolicy"), "{unguarded:?}");
    let denied = evaluate(&policies, &workload("gift-cards"), &workload("payments"));
    assert!(
        format!("{:?}", denied.reason).contains("deny-gift-cards-to-payments"),
        "{denied:?}"
    );
    assert!(!evaluate(&policies, &workload("order-history"), &workload("accounts"))
        .decision
        .allows());
    assert!(evaluate(&policies, &workload("cart"), &workload("feature-flags"))
        .decision
        .allows());
    assert!(evaluate(&policies, &workload("pricing"), &workload("currency-rates"))
        .decision
        .allows());
}

fn yaml_docs(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---")
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l != "---")
        })
        .map(|doc| kuma_sim::yaml::to_json(doc.trim_start_matches("---")).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The built-in table is the catalog: same components, types, lifecycles and `dependsOn`; no
/// `kuma.io/service` annotations to honour (a component named differently would need one).
#[test]
fn default_world_matches_the_demo_catalog() {
    let dir = examples_dir().join("components");
    let mut catalog: BTreeMap<String, (String, String, Vec<String>)> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        for doc in yaml_docs(&entry.unwrap().path()) {
            if doc["kind"] != "Component" {
                continue;
            }
            let annotations = doc["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
            assert!(
                !annotations.contains_key("kuma.io/service"),
                "a kuma.io/service annotation appeared: map it in default_world"
            );
            let deps = doc["spec"]["dependsOn"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_str()?.strip_prefix("component:").map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            catalog.insert(
                doc["metadata"]["name"].as_str().unwrap().to_string(),
                (
                    doc["spec"]["type"].as_str().unwrap().to_string(),
                    doc["spec"]["lifecycle"].as_str().unwrap().to_string(),
                    deps,
                ),
            );
        }
    }
    // Compass components: `name` made an entity name, DEPENDS_ON each other.
    for (file, name) in [
        ("loyalty-points/compass.yml", "loyalty-points"),
        ("rewards-ledger/compass.yml", "rewards-ledger"),
    ] {
        let doc = kuma_sim::yaml::to_json(&std::fs::read_to_string(examples_dir().join("compass").join(file)).unwrap())
            .unwrap();
        let expected = doc["name"].as_str().unwrap().to_lowercase().replace(' ', "-");
        assert_eq!(expected, name);
        let deps = if doc["relationships"]["DEPENDS_ON"].is_array() {
            vec!["rewards-ledger".to_string()]
        } else {
            Vec::new()
        };
        catalog.insert(name.into(), ("service".into(), "production".into(), deps));
    }
    let table: BTreeMap<String, (String, String, Vec<String>)> = CATALOG
        .iter()
        .map(|(n, t, l, d)| {
            (
                n.to_string(),
                (t.to_string(), l.to_string(), d.iter().map(|x| x.to_string()).collect()),
            )
        })
        .collect();
    assert_eq!(table, catalog, "default_world::CATALOG drifted from examples/");

    let world = default_world::world();
    let services: BTreeSet<&str> = world.services.iter().map(|s| s.name.as_str()).collect();
    let deployable: BTreeSet<&str> = CATALOG
        .iter()
        .filter(|(_, t, _, _)| default_world::deployable(t))
        .map(|(n, ..)| *n)
        .collect();
    let missing: BTreeSet<&str> = deployable.difference(&services).copied().collect();
    assert_eq!(missing, LEFT_OUT.into_iter().collect(), "components not in the mesh");
    let extra: BTreeSet<&str> = services.difference(&deployable).copied().collect();
    assert_eq!(extra, EXTRA_SERVICES.iter().map(|(_, s)| *s).collect());
    for s in &world.services {
        let n = kuma_sim::WorldSpec::proxy_names(s).len();
        assert!((1..=3).contains(&n), "{}: {n} proxies", s.name);
    }
    // Traffic follows every declared dependency between services of one mesh, plus undeclared.
    let traffic: BTreeSet<(&str, &str)> = world.traffic.iter().map(|t| (t.from.as_str(), t.to.as_str())).collect();
    for (from, (ty, _, deps)) in &catalog {
        if !default_world::deployable(ty) || !services.contains(from.as_str()) {
            continue;
        }
        for to in deps {
            let same_mesh =
                services.contains(to.as_str()) && default_world::mesh_of(from) == default_world::mesh_of(to);
            assert_eq!(
                traffic.contains(&(from.as_str(), to.as_str())),
                same_mesh,
                "{from} -> {to}"
            );
        }
    }
    let undeclared: Vec<_> = world.traffic.iter().filter(|t| t.declared == Some(false)).collect();
    assert!(undeclared.len() >= 3);
    for t in undeclared {
        let declared = catalog.get(&t.from).is_some_and(|(_, _, d)| d.contains(&t.to));
        assert!(!declared, "{} -> {} is declared", t.from, t.to);
    }
}

/// The README's world file example is a valid world.
#[test]
fn readme_world_example_parses() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block");
    let world = kuma_sim::WorldSpec::parse(block).unwrap_or_else(|e| panic!("README world: {e}"));
    assert_eq!(world.meshes.len(), 2);
    assert_eq!(world.services[0].proxies[0].certificate.as_deref(), Some("3d"));
    let sim = TestSim::new(world);
    assert!(sim.sim.has_service("default", "backend"));
}

/// Dataplane labels from the world: the service's, the proxy's on top, Kuma's own last; served in
/// the overview's top-level `labels` (Kuma's `Meta`), valid against the spec, kept by `/_sim/world`.
#[tokio::test]
async fn dataplane_labels_are_served_and_round_trip() {
    let world = kuma_sim::WorldSpec::parse(
        r#"{
        "meshes": [{"name": "default"}],
        "services": [{"name": "web", "labels": {"app": "web", "team": "team-a", "k8s.kuma.io/namespace": "shop"},
                      "proxies": [{"name": "web-1"}, {"name": "web-2", "labels": {"team": "team-b", "kuma.io/mesh": "other"}}]}]
    }"#,
    )
    .expect("world");
    let sim = TestSim::new(world);
    let page = sim.get_json("/meshes/default/dataplanes+insights").await;
    let doc = spec(Doc::Kuma, Mode::Goldens);
    assert_valid(
        &doc,
        &response_schema(&doc, "/meshes/{mesh}/dataplanes/_overview", "200"),
        &page,
        "dataplanes+insights",
    );
    let dps = overviews(&sim, "default").await;
    let labels = |name: &str| {
        dps.iter()
            .find(|d| d.meta.name == name)
            .map(|d| d.meta.labels.clone())
            .expect("dataplane")
    };
    let web1 = labels("web-1");
    assert_eq!(web1.get("team").map(String::as_str), Some("team-a"));
    assert_eq!(web1.get("k8s.kuma.io/namespace").map(String::as_str), Some("shop"));
    assert_eq!(web1.get("kuma.io/origin").map(String::as_str), Some("zone"));
    let web2 = labels("web-2");
    assert_eq!(
        web2.get("team").map(String::as_str),
        Some("team-b"),
        "the proxy's label wins"
    );
    assert_eq!(
        web2.get("kuma.io/mesh").map(String::as_str),
        Some("default"),
        "Kuma's own label wins"
    );
    let again = sim.get_json("/_sim/world").await;
    let replay: kuma_sim::WorldSpec = serde_json::from_value(again["world"].clone()).expect("world file");
    assert_eq!(replay.services[0].labels, kuma_sim::WorldSpec::parse(
        r#"{"meshes": [{"name": "default"}], "services": [{"name": "web", "labels": {"app": "web", "team": "team-a", "k8s.kuma.io/namespace": "shop"}}]}"#,
    ).expect("world").services[0].labels);
    assert_eq!(
        replay.services[0].proxies[1].labels.get("team").map(String::as_str),
        Some("team-b")
    );
}
