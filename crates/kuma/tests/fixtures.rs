//! Every JSON golden response in `../shared/kuma/fixtures` (in every subfolder, such as `next/`)
//! parses into the type for its endpoint, with the values the fixture actually holds.

mod common;

use std::path::Path;

use bearing_kuma::model::{
    self, Action, ApiError, DataplaneOverview, GatewayType, GenericResource, GlobalInsights, InboundPolicies, List,
    MatchType, Mesh, MeshInsight, MeshService, MeshTrafficPermission, MtlsMode, ResourceTypeList, ServiceInsight,
    ServiceStatus, ServiceType, TargetRefKind, TrafficPermission,
};
use bearing_kuma::{stats, Error};
use common::{at, fixture, shared_dir};

type Check = fn(&str);

/// Each JSON fixture, the type it is parsed into, and what it must contain.
const FIXTURES: &[(&str, Check)] = &[
    ("get-meshes.golden.json", |body| {
        let list: List<Mesh> = model::parse(body).unwrap();
        assert_eq!((list.total, list.items.len(), list.next_page()), (2, 2, None));
        let mesh1 = &list.items[0];
        assert_eq!(mesh1.meta.name, "mesh1");
        assert_eq!(mesh1.meta.kri.as_deref(), Some("kri_m____mesh1_"));
        assert_eq!(
            mesh1.meta.creation_time, None,
            "0001-01-01T00:00:00Z is Kuma's unset time"
        );
        let mtls = mesh1.mtls.as_ref().expect("mesh1 has mtls");
        assert_eq!(mtls.enabled_backend.as_deref(), Some("builtin-1"));
        assert_eq!(
            (mtls.backends[0].name.as_str(), mtls.backends[0].backend_type.as_str()),
            ("builtin-1", "builtin")
        );
        assert!(list.items[1].mtls.is_none(), "mesh2 has no mtls");
    }),
    ("next/get-meshes.golden.json", |body| {
        let list: List<Mesh> = model::parse(body).unwrap();
        assert_eq!(
            list.items.iter().map(|m| m.meta.name.as_str()).collect::<Vec<_>>(),
            ["mesh1", "mesh2"]
        );
        assert!(
            list.items.iter().all(|m| m.mtls.is_none()),
            "the next major has no Mesh.mtls"
        );
    }),
    ("put_meshes_03.request.json", |body| {
        let mesh: Mesh = model::parse(body).unwrap();
        assert_eq!(mesh.meta.name, "new-mesh");
        assert_eq!(mesh.mtls.unwrap().enabled_backend.as_deref(), Some("ca-1"));
    }),
    ("inspect-meshes.golden.json", |body| {
        let list: List<MeshInsight> = model::parse(body).unwrap();
        assert_eq!(list.items.len(), 2);
        let default = &list.items[0];
        assert_eq!(default.meta.resource_type, "MeshInsight");
        assert_eq!(
            (
                default.dataplanes.total,
                default.dataplanes.online,
                default.dataplanes.offline
            ),
            (100, 90, 10)
        );
        assert_eq!(default.dataplanes.partially_degraded, 0, "omitted zero reads as 0");
        assert_eq!(default.policies["TrafficPermission"].total, 7);
        assert_eq!(list.items[1].policies["RateLimit"].total, 100);
    }),
    ("global.golden.json", |body| {
        let insights: GlobalInsights = model::parse(body).unwrap();
        assert_eq!(insights.resources["Mesh"].total, 3);
        assert_eq!(insights.resources["GlobalSecret"].total, 0);
    }),
    ("inspect-dataplanes.golden.json", |body| {
        let list: List<DataplaneOverview> = model::parse(body).unwrap();
        let names: Vec<_> = list.items.iter().map(|d| d.meta.name.as_str()).collect();
        assert_eq!(names, ["experiment", "degraded-dp", "offline-dp", "example"]);
        let experiment = &list.items[0];
        assert_eq!(experiment.meta.mesh.as_deref(), Some("default"));
        assert_eq!(experiment.meta.creation_time, Some(at("2018-07-17T16:05:36.995Z")));
        assert_eq!(experiment.services(), ["mobile", "metrics"]);
        let insight = experiment.dataplane_insight.as_ref().unwrap();
        let sub = &insight.subscriptions[1];
        assert_eq!(sub.connect_time, Some(at("2019-07-17T16:05:36.995Z")));
        assert_eq!(sub.disconnect_time, None);
        assert_eq!(
            sub.status.as_ref().unwrap().total.responses_sent,
            20,
            "uint64 arrives as the string \"20\""
        );
        assert_eq!(sub.version.as_ref().unwrap().envoy.as_ref().unwrap().version, "1.16.1");
        let mtls = insight.mtls.as_ref().unwrap();
        assert_eq!(mtls.certificate_expiration_time, Some(at("2020-05-08T08:28:22Z")));
        assert_eq!(mtls.last_certificate_regeneration, Some(at("2019-07-16T19:48:08Z")));
        assert_eq!(mtls.certificate_regenerations, 10);
        assert_eq!(mtls.issued_backend.as_deref(), Some("ca-1"));
        assert_eq!(mtls.supported_backends, ["ca-1", "ca-2"]);
        let degraded = &list.items[1].dataplane.networking.inbound;
        assert_eq!(
            (degraded[0].health, degraded[1].health.map(|h| h.ready)),
            (None, Some(false))
        );
        let never = &list.items[3].dataplane_insight.as_ref().unwrap().subscriptions;
        assert!(
            never.iter().all(|s| s.connect_time.is_none()),
            "`example` never connected"
        );
    }),
    ("meshes_mesh1_dataplanes_insights.json", |body| {
        let list: List<DataplaneOverview> = model::parse(body).unwrap();
        assert_eq!(list.total, 4);
        assert!(list.items[1].dataplane_insight.is_none(), "dp-no-insights");
        let gateways: Vec<_> = list.items[2..]
            .iter()
            .map(|d| d.dataplane.networking.gateway.as_ref().unwrap().kind())
            .collect();
        assert_eq!(
            gateways,
            [GatewayType::Builtin, GatewayType::Delegated],
            "absent type is DELEGATED"
        );
        let status = list.items[0].dataplane_insight.as_ref().unwrap().subscriptions[0]
            .status
            .as_ref()
            .unwrap();
        assert_eq!(status.last_update_time, Some(at("2019-07-01T00:00:00Z")));
    }),
    ("inspect-services.golden.json", |body| {
        let list: List<ServiceInsight> = model::parse(body).unwrap();
        let rows: Vec<_> = list
            .items
            .iter()
            .map(|s| {
                (
                    s.meta.name.as_str(),
                    s.status.clone().unwrap(),
                    s.dataplanes.total,
                    s.dataplanes.online,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("backend", ServiceStatus::PartiallyDegraded, 10, 5),
                ("web", ServiceStatus::Online, 20, 20),
                ("orders", ServiceStatus::Offline, 5, 0),
            ]
        );
        assert_eq!(list.items[0].meta.resource_type, "ServiceOverview");
    }),
    ("list-simple.golden.json", |body| {
        let list: List<ServiceInsight> = model::parse(body).unwrap();
        assert_eq!(list.items[1].meta.name, "frontend");
        assert_eq!(
            (list.items[1].dataplanes.online, list.items[1].dataplanes.offline),
            (70, 30)
        );
        assert_eq!(list.items[1].address_port.as_deref(), Some("frontend.mesh:80"));
    }),
    ("get.golden.json", |body| {
        let insight: ServiceInsight = model::parse(body).unwrap();
        assert_eq!(insight.meta.name, "backend");
        assert_eq!(insight.status, Some(ServiceStatus::PartiallyDegraded));
        assert_eq!(insight.dataplanes.total, 100);
    }),
    ("pagination_00.golden.json", |body| {
        let list: List<ServiceInsight> = model::parse(body).unwrap();
        assert_eq!((list.total, list.items.len()), (4, 2), "total counts every page");
        assert_eq!(
            list.next_page(),
            Some("http://{{address}}/meshes/mesh-1/service-insights?offset=2&size=2")
        );
        assert_eq!(list.items[0].status, None, "this page carries no status");
    }),
    ("type-filter_00.golden.json", |body| {
        let list: List<ServiceInsight> = model::parse(body).unwrap();
        let kinds: Vec<_> = list.items.iter().map(|s| (s.meta.name.as_str(), s.kind())).collect();
        assert_eq!(
            kinds,
            [("frontend", ServiceType::Internal), ("gw", ServiceType::GatewayBuiltin)]
        );
    }),
    ("list_meshservices.golden.json", |body| {
        let list: List<MeshService> = model::parse(body).unwrap();
        assert_eq!(list.items.len(), 2);
        let redis = &list.items[0];
        assert_eq!(redis.meta.name, "redis-1");
        assert_eq!(redis.spec.state.as_deref(), Some("Unavailable"));
        assert_eq!(redis.spec.ports[0].port, 6379);
        assert_eq!(redis.spec.ports[0].app_protocol.as_deref(), Some("tcp"));
        assert_eq!(redis.snis[0].sni, "sni.msvc.default.redis-1.6379");
        assert_eq!(redis.status.vips[0]["ip"], "10.0.0.1");
        assert_eq!(
            redis.status.dataplane_proxies.total, 0,
            "empty dataplaneProxies: zeros omitted"
        );
        assert_eq!(redis.status.tls.status, None);
    }),
    ("meshservice.golden.json", |body| {
        let list: List<GenericResource> = model::parse(body).unwrap();
        assert_eq!(list.next_page(), None, "this list has no `next` at all");
        let names: Vec<_> = list
            .items
            .iter()
            .map(|r| (r.meta.resource_type.as_str(), r.meta.name.as_str()))
            .collect();
        assert_eq!(names, [("Dataplane", "ts-01"), ("Dataplane", "ts-02")]);
    }),
    ("get_resource.golden.json", |body| {
        let mtp: MeshTrafficPermission = model::parse(body).unwrap();
        assert_eq!(mtp.meta.name, "mtp-1");
        assert_eq!(mtp.spec.target_ref.as_ref().unwrap().kind, TargetRefKind::Mesh);
        assert_eq!(mtp.spec.from.len(), 1);
        assert_eq!(mtp.spec.from[0].target_ref.kind, TargetRefKind::Mesh);
        assert_eq!(mtp.spec.from[0].default.as_ref().unwrap().action, Some(Action::Allow));
        assert!(mtp.spec.rules.is_empty());
    }),
    ("next/get_resource.golden.json", |body| {
        let mtp: MeshTrafficPermission = model::parse(body).unwrap();
        assert!(mtp.spec.from.is_empty(), "the next major has rules[] only");
        let allow = &mtp.spec.rules[0].default.allow[0];
        let spiffe = allow.spiffe_id.as_ref().unwrap();
        assert_eq!(
            (&spiffe.match_type, spiffe.value.as_str()),
            (&MatchType::Prefix, "spiffe://default")
        );
    }),
    ("put_mtp_02.request.json", |body| {
        let mtp: MeshTrafficPermission = model::parse(body).unwrap();
        assert_eq!(
            mtp.meta.labels.len(),
            3,
            "labels Kuma rejects still parse: validation is Kuma's job"
        );
        assert_eq!(mtp.spec.from[0].default.as_ref().unwrap().action, Some(Action::Allow));
    }),
    ("put_mtp_00.request.json", |body| {
        // Kuma answers this body with 400 "spec.targetRef.name in body must be of type string"
        // (put_mtp_00.golden.json); a wrongly typed known field is an error here too.
        let err = model::parse::<MeshTrafficPermission>(body).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Json {
                    what: "MeshTrafficPermission",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("expected a string"), "{err}");
    }),
    ("put_mtp_00.golden.json", |body| {
        let err: ApiError = model::parse(body).unwrap();
        assert_eq!((err.status, err.error_type.as_str()), (400, "/std-errors"));
        assert_eq!(err.invalid_parameters[0].field, "spec.targetRef.name");
    }),
    ("mtp_multi_rule.golden.json", |body| {
        let inbound: InboundPolicies = model::parse(body).unwrap();
        let mtp = &inbound.policies[0];
        assert_eq!(mtp.kind, "MeshTrafficPermission");
        assert_eq!(mtp.origins[0].kri, "kri_mtp_default___allow_");
        let confs: Vec<_> = mtp.rules.iter().map(|r| r.mtp_conf().unwrap()).collect();
        assert_eq!(
            confs[0].allow[0].spiffe_id.as_ref().unwrap().value,
            "spiffe://trust-domain.mesh/ns/backend"
        );
        assert_eq!(
            confs[1].deny[0].spiffe_id.as_ref().unwrap().match_type,
            MatchType::Exact
        );
    }),
    ("get-traffic-permissions.golden.json", |body| {
        let list: List<TrafficPermission> = model::parse(body).unwrap();
        assert_eq!(list.items.len(), 2);
        let tp = &list.items[0];
        assert_eq!(tp.meta.name, "web1-to-backend1");
        assert_eq!(tp.sources[0].tags["kuma.io/service"], "web1");
        assert_eq!(tp.sources[0].tags["version"], "1.0");
        assert_eq!(tp.destinations[0].tags["env"], "dev");
    }),
    ("get-meshtimeouts.golden.json", |body| {
        let list: List<GenericResource> = model::parse(body).unwrap();
        let names: Vec<_> = list.items.iter().map(|r| r.meta.display_name()).collect();
        assert_eq!(names, ["aatimeout-1", "timeout-2", "timeout-3", "timeout-4"]);
        assert_eq!(list.items[0].meta.name, "aatimeout-1-82vzd567626w9bcf");
        assert!(list.items[0].spec.as_ref().unwrap()["to"].is_array());
    }),
    ("_resources.golden.json", |body| {
        let types: ResourceTypeList = model::parse(body).unwrap();
        assert_eq!(types.resources.len(), 53);
        let path = |name: &str| types.resources.iter().find(|r| r.name == name).map(|r| r.path.as_str());
        assert_eq!(path("MeshService"), Some("meshservices"));
        assert_eq!(path("MeshTrafficPermission"), Some("meshtrafficpermissions"));
        assert_eq!(path("TrafficPermission"), Some("traffic-permissions"));
    }),
    ("inspect_stats_dataplane.json", |body| {
        let parsed = stats::parse_stats_json(body).unwrap();
        assert_eq!(parsed.value("server.live"), Some(1));
    }),
];

#[test]
fn every_json_fixture_parses_into_its_type() {
    for (name, check) in FIXTURES {
        let body = fixture(name);
        let outcome = std::panic::catch_unwind(|| check(&body));
        assert!(
            outcome.is_ok(),
            "fixture {name} did not check out (see the panic above)"
        );
    }
}

/// Every `.json` file under `dir`, however deep, as a `/`-separated path relative to `root`:
/// a fixture in a folder added later is found too, so it cannot go unchecked silently.
fn json_files(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            let relative = path.strip_prefix(root).unwrap();
            let parts: Vec<_> = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
            found.push(parts.join("/"));
        }
    }
}

#[test]
fn every_json_fixture_is_covered() {
    let root = shared_dir().join("fixtures");
    let mut found = Vec::new();
    json_files(&root, &root, &mut found);
    found.sort();
    let covered: Vec<_> = FIXTURES.iter().map(|(name, _)| name.to_string()).collect();
    let missing: Vec<_> = found.iter().filter(|f| !covered.contains(f)).collect();
    assert!(missing.is_empty(), "fixtures without a parse check: {missing:?}");
    assert!(found.len() >= 24, "expected the full fixture set, found {found:?}");
    assert!(
        found.iter().any(|f| f.starts_with("next/")),
        "the walk reaches subfolders: {found:?}"
    );
}

#[test]
fn the_fixture_walk_descends_into_every_folder() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-walk");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    for file in ["top.json", "a/mid.json", "a/b/deep.json", "a/notes.txt"] {
        std::fs::write(root.join(file), "{}").unwrap();
    }
    let mut found = Vec::new();
    json_files(&root, &root, &mut found);
    found.sort();
    assert_eq!(found, ["a/b/deep.json", "a/mid.json", "top.json"]);
}

#[test]
fn text_stats_fixture_of_the_api_golden_parses() {
    let parsed = stats::parse_stats_text(&fixture("inspect_stats_dataplane.out")).unwrap();
    assert_eq!(parsed.value("server.live"), Some(1));
}

#[test]
fn enums_read_numbers_and_unknown_values() {
    // The spec allows protobuf enums as numbers (`oneOf: [string, integer]`).
    let body = r#"{"name":"m","mtls":{"enabledBackend":"ca","backends":[{"name":"ca","type":"provided","mode":1}]}}"#;
    let mesh: Mesh = model::parse(body).unwrap();
    assert_eq!(mesh.mtls.unwrap().backends[0].mode, Some(MtlsMode::Permissive));
    let body = r#"{"dataplane":{"networking":{"inbound":[{"port":1,"state":"Draining","tags":{}}]}}}"#;
    let dp: DataplaneOverview = model::parse(body).unwrap();
    assert_eq!(
        dp.dataplane.networking.inbound[0].state,
        Some(bearing_kuma::model::InboundState::Other("Draining".into()))
    );
}

#[test]
fn timestamps_in_the_specs_seconds_nanos_form_parse() {
    let body = r#"{"dataplaneInsight":{"mTLS":{"certificateExpirationTime":{"seconds":1588926502,"nanos":0}}}}"#;
    let dp: DataplaneOverview = model::parse(body).unwrap();
    let expiry = dp.dataplane_insight.unwrap().mtls.unwrap().certificate_expiration_time;
    assert_eq!(expiry, Some(at("2020-05-08T08:28:22Z")));
}

#[test]
fn types_serialise_back_to_kuma_shapes() {
    let list: List<DataplaneOverview> = model::parse(&fixture("inspect-dataplanes.golden.json")).unwrap();
    let json = serde_json::to_value(&list.items[0]).unwrap();
    assert_eq!(json["type"], "DataplaneOverview");
    assert_eq!(
        json["dataplaneInsight"]["mTLS"]["certificateExpirationTime"],
        "2020-05-08T08:28:22Z"
    );
    assert_eq!(
        json["dataplaneInsight"]["subscriptions"][0]["status"]["total"]["responsesSent"],
        "10"
    );
    assert_eq!(
        json["dataplane"]["networking"]["inbound"][0]["tags"]["kuma.io/service"],
        "mobile"
    );
    assert!(json.get("creationTime").is_some());
    let again: DataplaneOverview = serde_json::from_value(json).unwrap();
    assert_eq!(again.meta, list.items[0].meta);
}
