//! Statuses computed from the fixtures match the README's rules ("How Kuma itself computes
//! status"), with the expected values read off each fixture by hand.

mod common;

use bearing_kuma::model::{self, DataplaneOverview, List, Mesh, MtlsMode, ServiceInsight, ServiceStatus, ServiceType};
use bearing_kuma::status::{
    self, certificate_state, mesh_mtls, proxy_health, proxy_status, service_insight_status, service_status,
    services_from_proxies, CertificateState, ProxyCounts, ProxyStatus, DEFAULT_EXPIRES_SOON, KUMA_GUI_EXPIRES_SOON,
};
use common::{at, fixture};
use time::Duration;

fn dataplanes(name: &str) -> Vec<DataplaneOverview> {
    model::parse::<List<DataplaneOverview>>(&fixture(name)).unwrap().items
}

#[test]
fn proxy_statuses_of_inspect_dataplanes() {
    // experiment: connected, inbounds without health -> online.
    // degraded-dp: connected, one inbound `health: {}` (ready false) of two -> partially degraded.
    // offline-dp: connected, both inbounds `health: {}` -> offline.
    // example: subscriptions without connectTime -> offline.
    let dps = dataplanes("inspect-dataplanes.golden.json");
    let got: Vec<_> = dps.iter().map(|d| (d.meta.name.as_str(), proxy_status(d))).collect();
    assert_eq!(
        got,
        [
            ("experiment", ProxyStatus::Online),
            ("degraded-dp", ProxyStatus::PartiallyDegraded),
            ("offline-dp", ProxyStatus::Offline),
            ("example", ProxyStatus::Offline),
        ]
    );
    let degraded = proxy_health(&dps[1]);
    assert!(degraded.connected);
    assert_eq!(degraded.not_ready_inbounds.len(), 1);
    assert_eq!(degraded.not_ready_inbounds[0].port, Some(9001));
    assert_eq!(degraded.not_ready_inbounds[0].service.as_deref(), Some("example"));
    let never = proxy_health(&dps[3]);
    assert!(
        !never.connected && never.not_ready_inbounds.is_empty(),
        "offline for lack of a connection"
    );
}

#[test]
fn proxy_statuses_with_no_insight_and_gateways() {
    // dp-1 connected and healthy; dp-no-insights never connected; both gateways connected, and a
    // gateway is judged on its connection alone (it has no inbounds).
    let dps = dataplanes("meshes_mesh1_dataplanes_insights.json");
    let got: Vec<_> = dps.iter().map(proxy_status).collect();
    assert_eq!(
        got,
        [
            ProxyStatus::Online,
            ProxyStatus::Offline,
            ProxyStatus::Online,
            ProxyStatus::Online
        ]
    );
    let counts: ProxyCounts = got.into_iter().collect();
    assert_eq!(
        (counts.total, counts.online, counts.offline, counts.partially_degraded),
        (4, 3, 1, 0)
    );
}

#[test]
fn disconnected_or_notready_or_inboundless_proxies() {
    let parse = |body: &str| model::parse::<DataplaneOverview>(body).unwrap();
    // A later disconnectTime ends the only subscription: offline.
    let dp = parse(
        r#"{"dataplane":{"networking":{"inbound":[{"port":1,"tags":{"kuma.io/service":"a"}}]}},
            "dataplaneInsight":{"subscriptions":[{"id":"1","connectTime":"2024-01-01T00:00:00Z",
            "disconnectTime":"2024-01-01T01:00:00Z"}]}}"#,
    );
    assert_eq!(proxy_status(&dp), ProxyStatus::Offline);
    // One closed and one live subscription: online.
    let dp = parse(
        r#"{"dataplane":{"networking":{"inbound":[{"port":1,"tags":{"kuma.io/service":"a"}}]}},
            "dataplaneInsight":{"subscriptions":[
              {"id":"1","connectTime":"2024-01-01T00:00:00Z","disconnectTime":"2024-01-01T01:00:00Z"},
              {"id":"2","connectTime":"2024-01-01T01:00:01Z"}]}}"#,
    );
    assert_eq!(proxy_status(&dp), ProxyStatus::Online);
    // state NotReady counts like health.ready false.
    let dp = parse(
        r#"{"dataplane":{"networking":{"inbound":[
              {"port":1,"tags":{"kuma.io/service":"a"},"state":"NotReady"},
              {"port":2,"tags":{"kuma.io/service":"a"},"health":{"ready":true}}]}},
            "dataplaneInsight":{"subscriptions":[{"id":"1","connectTime":"2024-01-01T00:00:00Z"}]}}"#,
    );
    assert_eq!(proxy_status(&dp), ProxyStatus::PartiallyDegraded);
    // A connected sidecar with no inbound at all has no inbound ready: offline (as in Kuma).
    let dp = parse(r#"{"dataplaneInsight":{"subscriptions":[{"id":"1","connectTime":"2024-01-01T00:00:00Z"}]}}"#);
    assert_eq!(proxy_status(&dp), ProxyStatus::Offline);
}

#[test]
fn service_statuses_reported_by_kuma_match_the_rule() {
    for name in [
        "inspect-services.golden.json",
        "list-simple.golden.json",
        "type-filter_00.golden.json",
    ] {
        let list: List<ServiceInsight> = model::parse(&fixture(name)).unwrap();
        for insight in &list.items {
            assert_eq!(
                Some(service_insight_status(insight)),
                insight.status,
                "{name}: {} with {:?}",
                insight.meta.name,
                insight.dataplanes
            );
        }
    }
    // pagination_00 omits the status: 19 of 20 online is partially degraded.
    let page: List<ServiceInsight> = model::parse(&fixture("pagination_00.golden.json")).unwrap();
    assert_eq!(service_insight_status(&page.items[0]), ServiceStatus::PartiallyDegraded);
}

/// Counts are whatever the control plane sends, up to `u64::MAX`; with `total` missing,
/// `online + offline` overflowed: a panic in debug builds and a wrapped total (so a wrong
/// status) in release. Found while writing the `kuma_model` fuzz target, which replays this
/// input from its seeds (fuzz/README.md, "Findings").
#[test]
fn service_insight_counts_near_u64_max_do_not_overflow() {
    let status_of = |json: &str| service_insight_status(&model::parse::<ServiceInsight>(json).unwrap());
    assert_eq!(
        status_of(r#"{"dataplanes": {"online": 18446744073709551615, "offline": 1}}"#),
        ServiceStatus::PartiallyDegraded
    );
    assert_eq!(
        status_of(r#"{"dataplanes": {"online": 18446744073709551615, "offline": 18446744073709551615}}"#),
        ServiceStatus::PartiallyDegraded
    );
    assert_eq!(
        status_of(r#"{"dataplanes": {"online": 18446744073709551615}}"#),
        ServiceStatus::Online
    );
}

#[test]
fn service_status_rule() {
    assert_eq!(
        service_status(&ServiceType::External, 0, 0),
        ServiceStatus::NotAvailable
    );
    assert_eq!(
        service_status(&ServiceType::External, 3, 3),
        ServiceStatus::NotAvailable
    );
    assert_eq!(service_status(&ServiceType::Internal, 5, 0), ServiceStatus::Offline);
    assert_eq!(service_status(&ServiceType::Internal, 0, 0), ServiceStatus::Offline);
    assert_eq!(service_status(&ServiceType::Internal, 5, 5), ServiceStatus::Online);
    assert_eq!(
        service_status(&ServiceType::GatewayBuiltin, 20, 19),
        ServiceStatus::PartiallyDegraded
    );
}

#[test]
fn services_rolled_up_from_proxies_like_kumas_resyncer() {
    // mobile and metrics: one online proxy each. example: degraded-dp (2 inbounds, partially
    // degraded), offline-dp (2 inbounds, offline), example (1 inbound, offline): 5 counted, 0 online.
    let dps = dataplanes("inspect-dataplanes.golden.json");
    let services = services_from_proxies(&dps);
    assert_eq!(services.keys().collect::<Vec<_>>(), ["example", "metrics", "mobile"]);
    assert_eq!(services["mobile"].status, ServiceStatus::Online);
    let example = &services["example"];
    assert_eq!(example.status, ServiceStatus::Offline);
    assert_eq!(
        (
            example.proxies.total,
            example.proxies.online,
            example.proxies.offline,
            example.proxies.partially_degraded
        ),
        (5, 0, 3, 2)
    );
    assert_eq!(
        example.proxies.kuma_offline(),
        5,
        "Kuma counts partially degraded as offline for a service"
    );
}

#[test]
fn mesh_mtls_backend_and_mode() {
    let meshes: List<Mesh> = model::parse(&fixture("get-meshes.golden.json")).unwrap();
    let mesh1 = mesh_mtls(&meshes.items[0]);
    assert!(mesh1.enabled);
    assert_eq!(mesh1.backend.as_deref(), Some("builtin-1"));
    assert_eq!(mesh1.backend_type.as_deref(), Some("builtin"));
    assert_eq!(mesh1.mode, Some(MtlsMode::Strict), "no `mode` = STRICT");
    let mesh2 = mesh_mtls(&meshes.items[1]);
    assert!(!mesh2.enabled && mesh2.backend.is_none() && mesh2.mode.is_none());

    let next: List<Mesh> = model::parse(&fixture("next/get-meshes.golden.json")).unwrap();
    assert!(next.items.iter().all(|m| !mesh_mtls(m).enabled));

    let permissive: Mesh = model::parse(
        r#"{"type":"Mesh","name":"p","mtls":{"enabledBackend":"ca-2","backends":[
            {"name":"ca-1","type":"builtin"},
            {"name":"ca-2","type":"provided","mode":"PERMISSIVE","dpCert":{"rotation":{"expiration":"1d"}}}]}}"#,
    )
    .unwrap();
    let state = mesh_mtls(&permissive);
    assert_eq!(
        (state.backend_type.as_deref(), state.mode),
        (Some("provided"), Some(MtlsMode::Permissive))
    );
    assert_eq!(state.dp_cert_expiration.as_deref(), Some("1d"));
}

#[test]
fn certificate_states_of_the_fixture_proxy() {
    // experiment's certificate expires 2020-05-08T08:28:22Z.
    let dps = dataplanes("inspect-dataplanes.golden.json");
    let insight = dps[0].dataplane_insight.as_ref();
    let expiry = at("2020-05-08T08:28:22Z");
    let state = |now: &str, window| certificate_state(insight, at(now), window);
    assert_eq!(
        state("2020-04-01T00:00:00Z", DEFAULT_EXPIRES_SOON),
        CertificateState::Ok { expires_at: expiry }
    );
    assert_eq!(
        state("2020-05-02T00:00:00Z", DEFAULT_EXPIRES_SOON),
        CertificateState::ExpiresSoon { expires_at: expiry }
    );
    assert_eq!(
        state("2020-05-08T08:28:22Z", DEFAULT_EXPIRES_SOON),
        CertificateState::ExpiresSoon { expires_at: expiry }
    );
    assert_eq!(
        state("2020-05-08T08:28:23Z", DEFAULT_EXPIRES_SOON),
        CertificateState::Expired { expires_at: expiry }
    );
    // The window is configurable: with Kuma GUI's 6 hours, six days ahead is still fine.
    assert_eq!(
        state("2020-05-02T00:00:00Z", KUMA_GUI_EXPIRES_SOON),
        CertificateState::Ok { expires_at: expiry }
    );
    assert_eq!(
        state("2020-05-08T03:00:00Z", KUMA_GUI_EXPIRES_SOON).as_str(),
        "expires_soon"
    );
    assert_eq!(
        state("2020-05-01T08:28:22Z", Duration::days(7)).as_str(),
        "expires_soon",
        "exactly 7 days out"
    );

    // example has an insight but no mTLS block; dp-no-insights has no insight at all.
    assert_eq!(
        certificate_state(
            dps[3].dataplane_insight.as_ref(),
            at("2020-01-01T00:00:00Z"),
            DEFAULT_EXPIRES_SOON
        ),
        CertificateState::NoMtls
    );
    let no_insight = dataplanes("meshes_mesh1_dataplanes_insights.json");
    assert_eq!(
        certificate_state(
            no_insight[1].dataplane_insight.as_ref(),
            at("2020-01-01T00:00:00Z"),
            DEFAULT_EXPIRES_SOON
        ),
        CertificateState::NoMtls
    );

    // mTLS present without an expiry (or with Kuma's unset time): managed externally.
    for mtls in [
        r#"{"issuedBackend":"ext"}"#,
        r#"{"certificateExpirationTime":"0001-01-01T00:00:00Z"}"#,
    ] {
        let dp: DataplaneOverview = model::parse(&format!(r#"{{"dataplaneInsight":{{"mTLS":{mtls}}}}}"#)).unwrap();
        let got = certificate_state(
            dp.dataplane_insight.as_ref(),
            at("2020-01-01T00:00:00Z"),
            DEFAULT_EXPIRES_SOON,
        );
        assert_eq!(got, CertificateState::ManagedExternally, "{mtls}");
    }

    assert_eq!(status::earliest_expiry(&dps), Some(expiry));
}
