//! Envoy `/stats`: the fixture's format, counters that grow, and rates that match the traffic
//! matrix (computed independently here from what the API says: connected proxies, policies).

use crate::common::*;
use bearing_kuma::model::{DataplaneOverview, GatewayType, Mesh, MeshTrafficPermission, TrafficPermission};
use bearing_kuma::permissions::{evaluate, MeshPolicies, Workload};
use bearing_kuma::stats::{parse_stats_json, parse_stats_text, rates, ClusterKind, Sample};
use bearing_kuma::status::{is_connected, mesh_mtls};
use kuma_sim::spec::WorldSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

async fn sample(sim: &TestSim, mesh: &str, proxy: &str) -> Sample {
    let reply = sim.get(&format!("/meshes/{mesh}/dataplanes/{proxy}/stats")).await;
    assert_eq!(reply.status.as_u16(), 200, "{proxy}: {}", reply.body);
    assert_eq!(reply.content_type, "text/plain");
    Sample::parse(&reply.body).unwrap_or_else(|e| panic!("{proxy}: {e}"))
}

#[tokio::test]
async fn stats_look_like_the_fixture() {
    let sim = TestSim::default_world();
    let fixture_text = fixture("envoy-stats.txt");
    let fixture = parse_stats_text(&fixture_text).unwrap();
    let fixture_clusters: BTreeSet<&str> = fixture
        .values
        .keys()
        .filter_map(|k| k.strip_prefix("cluster.")?.strip_suffix(".upstream_cx_total"))
        .collect();
    // Stat names after `cluster.<name>.` / `http.<prefix>.` in the fixture.
    let suffixes = |prefix: &str, names: &mut dyn Iterator<Item = &String>| -> BTreeSet<String> {
        names
            .filter_map(|k| {
                let rest = k.strip_prefix(prefix)?;
                let (_, stat) = rest.split_once('.')?;
                Some(stat.to_string())
            })
            .collect()
    };
    let mut all_names = fixture
        .values
        .keys()
        .chain(fixture.text.keys())
        .chain(fixture.histograms.keys());
    let cluster_stats = suffixes("cluster.", &mut all_names);
    let mut all_names = fixture
        .values
        .keys()
        .chain(fixture.text.keys())
        .chain(fixture.histograms.keys());
    let http_stats = suffixes("http.", &mut all_names);
    let code = regex_like_status_code;

    let body = sim.get("/meshes/default/dataplanes/checkout-1/stats").await.body;
    let stats = parse_stats_text(&body).expect("parses like the fixture");
    // Text readouts, then counters and gauges, then histograms, like Envoy.
    let kinds: Vec<u8> = body
        .lines()
        .map(|line| {
            let value = line.split_once(": ").unwrap().1;
            if value.starts_with('"') {
                0
            } else if value.starts_with('P') || value == "No recorded values" {
                2
            } else {
                1
            }
        })
        .collect();
    assert!(kinds.windows(2).all(|w| w[0] <= w[1]), "sections out of order");
    let mut sorted_numbers: Vec<&str> = body
        .lines()
        .filter(|l| !l.contains('"') && !l.contains("P0("))
        .collect();
    sorted_numbers.retain(|l| !l.ends_with("No recorded values"));
    assert!(
        sorted_numbers.windows(2).all(|w| w[0] <= w[1]),
        "counters sorted by name"
    );
    // No invented stat names: every name is the fixture's, per cluster and per HTTP prefix.
    for name in stats
        .values
        .keys()
        .chain(stats.text.keys())
        .chain(stats.histograms.keys())
    {
        let known = if let Some(rest) = name.strip_prefix("cluster.") {
            let stat = rest.split_once('.').map(|(_, s)| s).unwrap_or("");
            cluster_stats.contains(stat) || code(stat)
        } else if let Some(rest) = name.strip_prefix("http.") {
            let stat = rest.split_once('.').map(|(_, s)| s).unwrap_or("");
            // The HTTP RBAC filter's counters, which the fixture's proxy (no RBAC on it) lacks:
            // `http.<stat_prefix>.rbac.{allowed,denied,shadow_allowed,shadow_denied}` (Envoy docs,
            // HTTP RBAC filter, "Statistics").
            let rbac = [
                "rbac.allowed",
                "rbac.denied",
                "rbac.shadow_allowed",
                "rbac.shadow_denied",
            ];
            http_stats.contains(stat) || rbac.contains(&stat)
        } else {
            fixture.values.contains_key(name)
                || fixture.text.contains_key(name)
                || fixture.histograms.contains_key(name)
        };
        assert!(known, "stat {name} is not in fixtures/envoy-stats.txt");
    }
    // The fixture's plumbing clusters, inbound `localhost_<port>`, outbound named after services.
    let sample = Sample::from_stats(&stats);
    for plumbing in [
        "ads_cluster",
        "access_log_sink",
        "kuma_envoy_admin",
        "inbound_passthrough_ipv4",
    ] {
        assert!(fixture_clusters.contains(plumbing));
        assert!(sample.clusters.contains_key(plumbing), "{plumbing}");
    }
    assert_eq!(sample.clusters["localhost_8080"].kind, ClusterKind::Inbound);
    for out in [
        "cart",
        "payments",
        "tax-calculator",
        "shipping-quote",
        "orders",
        "fraud-check",
        "currency-rates",
    ] {
        assert_eq!(sample.clusters[out].kind, ClusterKind::Outbound, "{out}");
    }
    let histogram = body
        .lines()
        .find(|l| l.starts_with("cluster.payments.upstream_rq_time:"))
        .unwrap();
    let percentiles: Vec<&str> = histogram
        .split(' ')
        .skip(1)
        .map(|p| p.split('(').next().unwrap())
        .collect();
    assert_eq!(
        percentiles,
        ["P0", "P25", "P50", "P75", "P90", "P95", "P99", "P99.5", "P99.9", "P100"]
    );
    assert!(sample.clusters["payments"].latency.is_some());
    assert!(sample.uptime_s.unwrap() > 3600, "the world has been running for hours");

    // `?format=json` is Envoy's JSON with the same values.
    let json = sim.get("/meshes/default/dataplanes/checkout-1/stats?format=json").await;
    assert_eq!(json.content_type, "application/json");
    let from_json = parse_stats_json(&json.body).unwrap();
    assert_eq!(from_json.values, stats.values);
    assert_eq!(from_json.text, stats.text);
    assert_eq!(from_json.histograms.len(), stats.histograms.len());
}

/// Status-code counters Envoy creates on first use: `upstream_rq_503`, `internal.upstream_rq_5xx`.
fn regex_like_status_code(stat: &str) -> bool {
    let stat = stat.strip_prefix("internal.").unwrap_or(stat);
    let Some(code) = stat.strip_prefix("upstream_rq_") else {
        return false;
    };
    code.len() == 3
        && (code.bytes().all(|b| b.is_ascii_digit()) || (code.as_bytes()[0].is_ascii_digit() && &code[1..] == "xx"))
}

/// What the API says, turned into expected per-proxy rates without asking the simulator's model.
struct Expected {
    /// (proxy, cluster) -> (requests/s, 5xx/s).
    rates: BTreeMap<(String, String), (f64, f64)>,
}

async fn expected(sim: &TestSim, world: &WorldSpec, mesh: &str) -> Expected {
    let dps: Vec<DataplaneOverview> = sim
        .all_items(&format!("/meshes/{mesh}/dataplanes+insights"))
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let mesh_model: Mesh = serde_json::from_value(sim.get_json(&format!("/meshes/{mesh}")).await).unwrap();
    let mtps: Vec<MeshTrafficPermission> = sim
        .all_items(&format!("/meshes/{mesh}/meshtrafficpermissions"))
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let tps: Vec<TrafficPermission> = sim
        .all_items(&format!("/meshes/{mesh}/traffic-permissions"))
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let policies = MeshPolicies {
        mesh,
        mtls_enabled: mesh_mtls(&mesh_model).enabled,
        mesh_traffic_permissions: &mtps,
        traffic_permissions: &tps,
    };
    let mut connected: BTreeMap<&str, Vec<&DataplaneOverview>> = BTreeMap::new();
    let mut gateways: BTreeMap<&str, GatewayType> = BTreeMap::new();
    for dp in &dps {
        let service = dp.services()[0];
        if let Some(gw) = &dp.dataplane.networking.gateway {
            gateways.insert(service, gw.kind());
        }
        let list = connected.entry(service).or_default();
        if is_connected(dp.dataplane_insight.as_ref()) {
            list.push(dp);
        }
    }
    let workload = |service: &str| {
        let mut w = Workload::service(service);
        if let Some(g) = gateways.get(service) {
            w = w.as_gateway(g.clone());
        }
        w
    };
    let mut rates: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for t in &world.traffic {
        if !connected.contains_key(t.from.as_str()) {
            continue; // other mesh
        }
        let senders = &connected[t.from.as_str()];
        if senders.is_empty() {
            continue;
        }
        let receivers = connected.get(t.to.as_str()).cloned().unwrap_or_default();
        let allowed = evaluate(&policies, &workload(&t.from), &workload(&t.to))
            .decision
            .allows();
        let delivered = allowed && !receivers.is_empty();
        let per_sender = t.rps / senders.len() as f64;
        for s in senders {
            let e = rates.entry((s.meta.name.clone(), t.to.clone())).or_default();
            e.0 += per_sender;
            // Refused by the callee's HTTP RBAC filter: 403s, not 5xx; unreachable: 503s.
            e.1 += if delivered {
                per_sender * t.error_ratio
            } else if receivers.is_empty() {
                per_sender
            } else {
                0.0
            };
        }
        if delivered && !gateways.contains_key(t.to.as_str()) {
            let per_receiver = t.rps / receivers.len() as f64;
            for r in &receivers {
                let port = r.dataplane.networking.inbound[0].port.unwrap();
                let e = rates
                    .entry((r.meta.name.clone(), format!("localhost_{port}")))
                    .or_default();
                e.0 += per_receiver;
                e.1 += per_receiver * t.error_ratio;
            }
        }
    }
    Expected { rates }
}

async fn check_rates_match(sim: &TestSim, world: &WorldSpec, mesh: &str, elapsed: f64) -> usize {
    let exp = expected(sim, world, mesh).await;
    let proxies: BTreeSet<&String> = exp.rates.keys().map(|(p, _)| p).collect();
    let mut before = BTreeMap::new();
    for p in &proxies {
        before.insert(p.to_string(), sample(sim, mesh, p).await);
    }
    sim.advance(elapsed);
    let mut checked = 0;
    for p in &proxies {
        let after = sample(sim, mesh, p).await;
        let r = rates(&before[p.as_str()], &after, Duration::from_secs_f64(elapsed));
        assert!(!r.restarted);
        for (cluster, c) in &r.clusters {
            let want = exp
                .rates
                .get(&(p.to_string(), cluster.clone()))
                .copied()
                .unwrap_or((0.0, 0.0));
            if c.kind == ClusterKind::Internal || c.kind == ClusterKind::Passthrough {
                continue;
            }
            let tolerance = 3.0 / elapsed;
            assert!(
                (c.requests_per_s - want.0).abs() <= tolerance,
                "{p} {cluster}: {} req/s, expected {}",
                c.requests_per_s,
                want.0
            );
            assert!(
                (c.rq_5xx_per_s - want.1).abs() <= tolerance,
                "{p} {cluster}: {} 5xx/s, expected {}",
                c.rq_5xx_per_s,
                want.1
            );
            checked += 1;
        }
        // Every expected cluster is there.
        for ((proxy, cluster), _) in exp.rates.iter().filter(|((proxy, _), _)| proxy == p.as_str()) {
            assert!(r.clusters.contains_key(cluster), "{proxy} lacks cluster {cluster}");
        }
    }
    checked
}

#[tokio::test]
async fn rates_match_the_traffic_matrix() {
    let sim = TestSim::default_world();
    let world = kuma_sim::default_world::world();
    let checked = check_rates_match(&sim, &world, "default", 60.0).await;
    assert!(checked > 100, "{checked} clusters checked");
    check_rates_match(&sim, &world, "legacy", 30.0).await;
}

#[tokio::test]
async fn counters_grow_and_keep_growing() {
    let sim = TestSim::default_world();
    let a = sample(&sim, "default", "api-gateway-1").await;
    sim.advance(10.0);
    let b = sample(&sim, "default", "api-gateway-1").await;
    sim.advance(10.0);
    let c = sample(&sim, "default", "api-gateway-1").await;
    let total = |s: &Sample| s.clusters["catalog"].counters.rq_total;
    assert!(total(&a) < total(&b) && total(&b) < total(&c));
    // 120 req/s from two gateway proxies: 60 each.
    assert!((total(&b) - total(&a)).abs_diff(600) <= 2, "{}", total(&b) - total(&a));
    assert_eq!(b.uptime_s.unwrap() - a.uptime_s.unwrap(), 10);
    // Every counter is monotonic between reads.
    for (name, cluster) in &c.clusters {
        let before = &b.clusters[name].counters;
        let after = &cluster.counters;
        assert!(
            after.rq_total >= before.rq_total && after.rq_5xx >= before.rq_5xx && after.cx_total >= before.cx_total
        );
        assert!(after.rx_bytes >= before.rx_bytes && after.tx_bytes >= before.tx_bytes);
    }
}

#[tokio::test]
async fn denied_calls_are_403s_and_unreachable_ones_503s_at_the_caller() {
    let sim = TestSim::default_world();
    // order-history -> accounts is refused by allow-accounts (2.5 req/s over 2 proxies).
    let a = sample(&sim, "default", "order-history-1").await;
    let accounts_before = sample(&sim, "default", "accounts-1").await;
    sim.advance(100.0);
    let b = sample(&sim, "default", "order-history-1").await;
    let accounts_after = sample(&sim, "default", "accounts-1").await;
    let r = rates(&a, &b, Duration::from_secs(100));
    let denied = &r.clusters["accounts"];
    assert!((denied.requests_per_s - 1.25).abs() < 0.02);
    assert!((denied.denied_per_s - 1.25).abs() < 0.02, "{}", denied.denied_per_s);
    assert_eq!(denied.rq_5xx_per_s, 0.0);
    // The callee's inbound sees only its allowed callers.
    let inbound = rates(&accounts_before, &accounts_after, Duration::from_secs(100)).totals(ClusterKind::Inbound);
    assert!(inbound.requests_per_s > 0.0);
    // mobile-bff -> wishlist: wishlist's only proxy is offline.
    let m1 = sample(&sim, "default", "mobile-bff-1").await;
    sim.advance(100.0);
    let m2 = sample(&sim, "default", "mobile-bff-1").await;
    let w = &rates(&m1, &m2, Duration::from_secs(100)).clusters["wishlist"];
    assert!((w.requests_per_s - 2.0).abs() < 0.02 && (w.rq_5xx_per_s - 2.0).abs() < 0.02);
}

#[tokio::test]
async fn offline_proxies_have_no_stats_and_restart_when_back() {
    let sim = TestSim::default_world();
    let reply = sim.get("/meshes/default/dataplanes/orders-2/stats").await;
    assert_eq!(reply.status.as_u16(), 500);
    assert_eq!(reply.json()["title"], "Could not execute admin operation");
    assert_eq!(
        sim.get("/meshes/default/dataplanes/nope/stats").await.status.as_u16(),
        404
    );

    let before = sample(&sim, "default", "cart-1").await;
    sim.advance(5.0);
    sim.post_ok("/_sim/proxies/default/cart-1/offline", serde_json::json!({}))
        .await;
    assert_eq!(
        sim.get("/meshes/default/dataplanes/cart-1/stats").await.status.as_u16(),
        500
    );
    sim.advance(30.0);
    sim.post_ok("/_sim/proxies/default/cart-1/online", serde_json::json!({}))
        .await;
    sim.advance(20.0);
    let after = sample(&sim, "default", "cart-1").await;
    assert_eq!(after.uptime_s, Some(20), "a restarted Envoy");
    let r = rates(&before, &after, Duration::from_secs(55));
    assert!(r.restarted, "bearing-kuma sees the restart");
    let pricing = &after.clusters["pricing"].counters;
    assert!(pricing.rq_total < before.clusters["pricing"].counters.rq_total);
}

/// With the real clock: two reads a second apart give the configured rate.
#[tokio::test]
async fn real_time_rates() {
    let world = WorldSpec::parse(
        r#"{"meshes": [{"name": "default"}],
            "services": [{"name": "web", "replicas": 1}, {"name": "api", "replicas": 1}],
            "traffic": [{"from": "web", "to": "api", "rps": 200, "errorRatio": 0.25}]}"#,
    )
    .unwrap();
    let sim = std::sync::Arc::new(
        kuma_sim::Sim::new(world, std::sync::Arc::new(kuma_sim::clock::SystemClock::new())).unwrap(),
    );
    let router = kuma_sim::router(sim);
    let read = || async {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::get("/meshes/default/dataplanes/web-1/stats")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            std::time::Instant::now(),
            Sample::parse(std::str::from_utf8(&bytes).unwrap()).unwrap(),
        )
    };
    let (t0, a) = read().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (t1, b) = read().await;
    let r = rates(&a, &b, t1 - t0);
    let api = &r.clusters["api"];
    assert!((api.requests_per_s - 200.0).abs() < 20.0, "{}", api.requests_per_s);
    assert!((api.rq_5xx_per_s - 50.0).abs() < 8.0, "{}", api.rq_5xx_per_s);
}
