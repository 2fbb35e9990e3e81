//! Envoy `/stats` parsing of the fixture, cluster classification, and counter differencing with
//! resets.

mod common;

use bearing_kuma::stats::{
    classify_cluster, parse_stats_json, parse_stats_text, rates, ClusterKind, LatencyWindow, Sample,
};
use bearing_kuma::Error;
use common::fixture;
use std::time::Duration;

#[test]
fn parses_every_line_of_the_fixture() {
    let body = fixture("envoy-stats.txt");
    let stats = parse_stats_text(&body).unwrap();
    let lines = body.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(stats.values.len() + stats.text.len() + stats.histograms.len(), lines);
    assert_eq!((stats.text.len(), stats.histograms.len()), (9, 104));
    assert_eq!(stats.value("server.uptime"), Some(100590));
    assert_eq!(
        stats.text["control_plane.identifier"],
        "kuma-control-plane-6bb6b45bf9-q956w-a030"
    );
    assert!(
        !stats.histograms["cluster.access_log_sink.upstream_cx_connect_ms"].has_data(),
        "No recorded values"
    );

    let rq_time = &stats.histograms["cluster.localhost_5000.upstream_rq_time"];
    let p99 = rq_time.quantile(99.0).unwrap();
    assert_eq!(
        (p99.interval, p99.cumulative),
        (None, Some(23.329999999999927)),
        "nan interval is None"
    );
    assert_eq!(rq_time.quantile(99.5).unwrap().cumulative, Some(46.82999999999993));
    assert_eq!(rq_time.quantiles.len(), 10);
}

#[test]
fn per_cluster_counters_from_the_fixture() {
    let sample = Sample::parse(&fixture("envoy-stats.txt")).unwrap();
    assert_eq!(sample.clusters.len(), 14);
    assert!(
        sample.clusters.keys().all(|k| !k.contains('.')),
        "no `localhost_5000.internal` pseudo-clusters"
    );
    assert_eq!(sample.uptime_s, Some(100590));

    let inbound = &sample.clusters["localhost_5000"];
    assert_eq!(inbound.kind, ClusterKind::Inbound);
    let c = inbound.counters;
    assert_eq!(
        (c.rq_total, c.rq_2xx, c.rq_3xx, c.rq_4xx, c.rq_5xx),
        (4635, 4614, 17, 3, 0)
    );
    assert_eq!(
        (c.rq_completed, c.cx_total, c.rx_bytes, c.tx_bytes),
        (4634, 92, 1378907, 2619108)
    );

    let redis = &sample.clusters["redis_kuma-demo_svc_6379"];
    assert_eq!(
        (redis.kind, redis.counters.rq_total, redis.counters.cx_total),
        (ClusterKind::Outbound, 4608, 4608)
    );
    assert_eq!(
        sample.clusters["demo-app_kuma-demo_svc_5000"].kind,
        ClusterKind::Outbound
    );
    assert_eq!(sample.clusters["kuma_envoy_admin"].kind, ClusterKind::Internal);
    assert_eq!(sample.clusters["kuma_envoy_admin"].counters.rq_total, 23872);
    assert_eq!(
        sample.clusters["outbound_passthrough_ipv4"].kind,
        ClusterKind::Passthrough
    );
    assert_eq!(sample.clusters["outbound_passthrough_ipv4"].counters.rq_total, 2);
    assert_eq!(sample.clusters["ads_cluster"].kind, ClusterKind::Internal);
    assert!(
        inbound.latency.is_some() && redis.latency.is_none(),
        "redis is TCP: no upstream_rq_time"
    );
}

#[test]
fn cluster_names_as_kuma_writes_them() {
    assert_eq!(classify_cluster("localhost:8080"), ClusterKind::Inbound);
    assert_eq!(classify_cluster("inbound:passthrough:ipv6"), ClusterKind::Passthrough);
    assert_eq!(classify_cluster("kuma:envoy:admin"), ClusterKind::Internal);
    assert_eq!(
        classify_cluster("localhost_web"),
        ClusterKind::Outbound,
        "only a numeric port is inbound"
    );
    assert_eq!(classify_cluster("backend_kuma-demo_svc_3001"), ClusterKind::Outbound);
}

/// The fixture with some counters of `localhost_5000` (and the uptime) replaced.
fn variant(uptime: u64, total: u64, fivexx: Option<u64>) -> Sample {
    let mut body = fixture("envoy-stats.txt")
        .replace("server.uptime: 100590", &format!("server.uptime: {uptime}"))
        .replace(
            "cluster.localhost_5000.upstream_rq_total: 4635",
            &format!("cluster.localhost_5000.upstream_rq_total: {total}"),
        );
    if let Some(n) = fivexx {
        body.push_str(&format!("\ncluster.localhost_5000.upstream_rq_5xx: {n}\n"));
    }
    Sample::parse(&body).unwrap()
}

#[test]
fn rates_from_two_polls() {
    let prev = variant(100_590, 4635, None);
    let cur = variant(100_650, 5235, Some(30));
    let r = rates(&prev, &cur, Duration::from_secs(60));
    assert!(!r.restarted);
    let inbound = &r.clusters["localhost_5000"];
    assert!(!inbound.reset);
    assert_eq!(inbound.delta.rq_total, 600);
    assert_eq!(inbound.requests_per_s, 10.0);
    assert_eq!(inbound.rq_5xx_per_s, 0.5, "an absent 5xx counter is 0, then 30");
    assert_eq!(
        r.clusters["redis_kuma-demo_svc_6379"].requests_per_s, 0.0,
        "unchanged counters"
    );
    let totals = r.totals(ClusterKind::Inbound);
    assert_eq!((totals.requests_per_s, totals.errors_per_s), (10.0, 0.5));

    let latency = inbound.latency.unwrap();
    assert_eq!(
        latency.window,
        LatencyWindow::Cumulative,
        "every interval value is nan in the fixture"
    );
    assert_eq!(latency.p50_ms, Some(4.004589371980677));
    assert_eq!(latency.p99_ms, Some(23.329999999999927));
}

#[test]
fn counter_reset_uses_current_value_as_delta() {
    // The cluster's total went down (re-created cluster): 120 requests since the reset, not a huge
    // wrapped difference, and the other counters of that cluster are taken as-is too.
    let prev = variant(100_590, 4635, Some(50));
    let cur = variant(100_650, 120, Some(6));
    let r = rates(&prev, &cur, Duration::from_secs(60));
    let inbound = &r.clusters["localhost_5000"];
    assert!(inbound.reset && !r.restarted);
    assert_eq!(inbound.delta.rq_total, 120);
    assert_eq!(inbound.requests_per_s, 2.0);
    assert_eq!(inbound.delta.rq_5xx, 6);
    assert_eq!(
        inbound.delta.rq_2xx, 4614,
        "counters of a reset cluster all count from zero"
    );
    assert!(
        !r.clusters["redis_kuma-demo_svc_6379"].reset,
        "other clusters are unaffected"
    );
}

#[test]
fn proxy_restart_resets_every_cluster() {
    // Uptime went down: Envoy restarted, even where a counter happens to be higher than before.
    let prev = variant(100_590, 4635, None);
    let cur = variant(30, 5000, None);
    let r = rates(&prev, &cur, Duration::from_secs(60));
    assert!(r.restarted);
    assert!(r.clusters.values().all(|c| c.reset));
    assert_eq!(r.clusters["localhost_5000"].delta.rq_total, 5000);
    assert_eq!(r.clusters["redis_kuma-demo_svc_6379"].delta.rq_total, 4608);
}

#[test]
fn new_cluster_and_zero_elapsed() {
    let mut prev = variant(100_590, 4635, None);
    prev.clusters.remove("redis_kuma-demo_svc_6379");
    let cur = variant(100_650, 4635, None);
    let r = rates(&prev, &cur, Duration::from_secs(10));
    let redis = &r.clusters["redis_kuma-demo_svc_6379"];
    assert!(redis.reset);
    assert_eq!(
        redis.requests_per_s, 460.8,
        "a cluster created between polls counts in full"
    );
    let r = rates(&prev, &cur, Duration::ZERO);
    assert!(r.clusters.values().all(|c| c.requests_per_s == 0.0));
}

#[test]
fn garbage_is_an_error_not_silence() {
    let err = parse_stats_text("server.live: 1\n<html>oops</html>\n").unwrap_err();
    assert!(matches!(err, Error::StatsLine { line: 2, .. }), "{err}");
    assert!(parse_stats_text("cluster.x.upstream_rq_time: P0(abc,1)").is_err());
    assert!(parse_stats_json("not json").is_err());
}

#[test]
fn envoy_json_format() {
    let body = r#"{"stats":[
        {"name":"cluster.web.upstream_rq_total","value":12},
        {"name":"cluster.web.upstream_cx_total","value":3},
        {"name":"control_plane.identifier","value":"cp-1"},
        {"histograms":{"supported_quantiles":[0,25,50,75,90,95,99,99.5,99.9,100],
          "computed_quantiles":[{"name":"cluster.web.upstream_rq_time","values":[
            {"interval":null,"cumulative":1},{"interval":null,"cumulative":2},{"interval":3,"cumulative":3},
            {"interval":null,"cumulative":4},{"interval":null,"cumulative":5},{"interval":null,"cumulative":6},
            {"interval":7,"cumulative":7},{"interval":null,"cumulative":8},{"interval":null,"cumulative":9},
            {"interval":null,"cumulative":10}]}]}}]}"#;
    let stats = parse_stats_json(body).unwrap();
    let sample = Sample::from_stats(&stats);
    assert_eq!(sample.clusters["web"].counters.rq_total, 12);
    let latency =
        bearing_kuma::stats::Latency::from_histogram(sample.clusters["web"].latency.as_ref().unwrap()).unwrap();
    assert_eq!(
        (latency.window, latency.p50_ms, latency.p90_ms, latency.p99_ms),
        (LatencyWindow::Interval, Some(3.0), None, Some(7.0))
    );
}

#[test]
fn denied_calls_are_the_outbound_403s() {
    let redis = "cluster.redis_kuma-demo_svc_6379";
    let prev = fixture("envoy-stats.txt");
    // Envoy creates a per-code counter on first use: absent before, 120 after.
    let cur = format!("{prev}\n{redis}.upstream_rq_403: 120\n{redis}.upstream_rq_4xx: 120\n");
    let (prev, cur) = (Sample::parse(&prev).unwrap(), Sample::parse(&cur).unwrap());
    assert_eq!(prev.clusters["redis_kuma-demo_svc_6379"].counters.rq_403, 0);
    let r = rates(&prev, &cur, Duration::from_secs(60));
    let outbound = &r.clusters["redis_kuma-demo_svc_6379"];
    assert_eq!(outbound.delta.rq_403, 120);
    assert_eq!(outbound.denied_per_s, 2.0);
    assert_eq!(r.clusters["localhost_5000"].denied_per_s, 0.0);
}
