//! Envoy's `/stats` for one simulated proxy, as Kuma relays it
//! (`GET /meshes/{mesh}/dataplanes/{name}/stats`).
//!
//! The layout follows `fixtures/envoy-stats.txt`: text readouts first (`name: "text"`), then
//! counters and gauges (`name: 123`), each group sorted by name, then histograms
//! (`name: P0(interval,cumulative) P25(..) ...` or `name: No recorded values`). Per cluster the
//! usual Envoy cluster stats appear; those that matter to a poller (`upstream_rq_total`,
//! `upstream_rq_2xx`, `upstream_rq_5xx`, `upstream_rq_completed`, `upstream_cx_total`, byte
//! counters, `upstream_rq_time`) follow the traffic matrix. Inbound clusters are
//! `localhost_<port>`; outbound clusters are named after the destination `kuma.io/service`; Kuma's
//! own `ads_cluster`, `access_log_sink`, `kuma_envoy_admin` and the passthrough clusters are there
//! too. Status-class counters (`upstream_rq_5xx`, `upstream_rq_503`, ...) appear once non-zero,
//! like Envoy creates them on first use.

use crate::sim::{
    ClusterRt, ProxyRt, State, ACC_2XX, ACC_403, ACC_500, ACC_503, ACC_CX, ACC_RBAC_ALLOWED, ACC_RBAC_DENIED, ACC_RX,
    ACC_SHADOW_DENIED, ACC_TX,
};
use std::collections::BTreeMap;

const PERCENTILES: [(&str, f64); 10] = [
    ("0", 0.12),
    ("25", 0.72),
    ("50", 1.0),
    ("75", 1.3),
    ("90", 1.9),
    ("95", 2.6),
    ("99", 5.1),
    ("99.5", 7.4),
    ("99.9", 14.8),
    ("100", 38.0),
];

/// Where a stat goes in the output.
enum Stat {
    Text(String),
    Number(u64),
    Histogram(Option<f64>, Option<f64>),
}

struct Body(BTreeMap<String, Stat>);

impl Body {
    fn n(&mut self, name: String, value: u64) {
        self.0.insert(name, Stat::Number(value));
    }
    fn text(&mut self, name: String, value: String) {
        self.0.insert(name, Stat::Text(value));
    }
    /// `median_ms` for the histogram's scale; `interval` when something happened recently.
    fn histogram(&mut self, name: String, median_ms: Option<f64>, interval: bool) {
        let value = median_ms.map(|m| (if interval { Some(m * 1.04) } else { None }, Some(m)));
        match value {
            Some((i, c)) => self.0.insert(name, Stat::Histogram(i, c)),
            None => self.0.insert(name, Stat::Histogram(None, None)),
        };
    }
}

fn cluster_stats(body: &mut Body, name: &str, c: &ClusterRt, t: f64, checkpoint: f64) {
    let v = |slot| c.value(slot, t, checkpoint);
    let (ok, e500, e503, e403) = (v(ACC_2XX), v(ACC_500), v(ACC_503), v(ACC_403));
    let total = ok + e500 + e503 + e403;
    let cx = v(ACC_CX).max(u64::from(total > 0));
    let p = |stat: &str| format!("cluster.{name}.{stat}");
    for stat in [
        "assignment_stale",
        "assignment_timeout_received",
        "bind_errors",
        "lb_healthy_panic",
        "lb_local_cluster_not_ok",
        "lb_recalculate_zone_structures",
        "lb_subsets_active",
        "lb_zone_no_capacity_left",
        "membership_degraded",
        "membership_excluded",
        "original_dst_host_invalid",
        "retry_or_shadow_abandoned",
        "update_empty",
        "update_failure",
        "upstream_cx_active",
        "upstream_cx_close_notify",
        "upstream_cx_connect_attempts_exceeded",
        "upstream_cx_connect_fail",
        "upstream_cx_connect_timeout",
        "upstream_cx_destroy_local",
        "upstream_cx_http3_total",
        "upstream_cx_idle_timeout",
        "upstream_cx_max_requests",
        "upstream_cx_overflow",
        "upstream_cx_pool_overflow",
        "upstream_cx_protocol_error",
        "upstream_cx_rx_bytes_buffered",
        "upstream_cx_tx_bytes_buffered",
        "upstream_rq_active",
        "upstream_rq_cancelled",
        "upstream_rq_maintenance_mode",
        "upstream_rq_max_duration_reached",
        "upstream_rq_pending_active",
        "upstream_rq_pending_failure_eject",
        "upstream_rq_pending_overflow",
        "upstream_rq_per_try_timeout",
        "upstream_rq_retry",
        "upstream_rq_retry_limit_exceeded",
        "upstream_rq_retry_overflow",
        "upstream_rq_retry_success",
        "upstream_rq_timeout",
        "upstream_rq_tx_reset",
        "version",
        "warming_state",
    ] {
        body.n(p(stat), 0);
    }
    body.n(p("default.total_match_count"), 1);
    body.n(p("max_host_weight"), u64::from(c.members > 0));
    body.n(p("membership_change"), u64::from(c.members) + 1);
    body.n(p("membership_healthy"), u64::from(c.healthy));
    body.n(p("membership_total"), u64::from(c.members));
    body.n(p("update_attempt"), 3);
    body.n(p("update_no_rebuild"), 1);
    body.n(p("update_success"), 2);
    body.n(p("upstream_cx_total"), cx);
    body.n(p("upstream_cx_destroy"), cx);
    body.n(p("upstream_cx_destroy_remote"), cx);
    body.n(
        p(if c.http2 {
            "upstream_cx_http2_total"
        } else {
            "upstream_cx_http1_total"
        }),
        cx,
    );
    body.n(
        p(if c.http2 {
            "upstream_cx_http1_total"
        } else {
            "upstream_cx_http2_total"
        }),
        0,
    );
    body.n(p("upstream_cx_none_healthy"), if c.inbound { 0 } else { e503 / 4 });
    body.n(p("upstream_cx_rx_bytes_total"), v(ACC_RX));
    body.n(p("upstream_cx_tx_bytes_total"), v(ACC_TX));
    body.n(p("upstream_rq_pending_total"), cx);
    body.n(p("upstream_rq_rx_reset"), if c.inbound { 0 } else { e503 - e503 / 4 });
    body.n(p("upstream_rq_total"), total);
    body.n(p("upstream_rq_completed"), total);
    let codes = [
        (ok, "200", "2xx"),
        (e403, "403", "4xx"),
        (e500, "500", "5xx"),
        (e503, "503", "5xx"),
    ];
    for (count, code, _) in codes {
        if count > 0 {
            body.n(p(&format!("upstream_rq_{code}")), count);
            if c.inbound {
                body.n(p(&format!("internal.upstream_rq_{code}")), count);
            }
        }
    }
    if ok > 0 {
        body.n(p("upstream_rq_2xx"), ok);
    }
    // A request the destination's RBAC refused: Envoy's 403 "RBAC: access denied".
    if e403 > 0 {
        body.n(p("upstream_rq_4xx"), e403);
    }
    if e500 + e503 > 0 {
        body.n(p("upstream_rq_5xx"), e500 + e503);
    }
    if c.inbound && total > 0 {
        if ok > 0 {
            body.n(p("internal.upstream_rq_2xx"), ok);
        }
        if e500 + e503 > 0 {
            body.n(p("internal.upstream_rq_5xx"), e500 + e503);
        }
        body.n(p("internal.upstream_rq_completed"), total);
    }
    let latency = (total > 0).then_some(c.latency_ms);
    body.histogram(p("upstream_rq_time"), latency, c.active());
    if c.inbound {
        body.histogram(p("internal.upstream_rq_time"), latency, c.active());
    }
    body.histogram(p("upstream_cx_connect_ms"), (cx > 0).then_some(0.8), c.active());
    body.histogram(p("upstream_cx_length_ms"), (cx > 0).then_some(30_000.0), c.active());

    // The HTTP connection manager in front of the cluster (`http.<stat_prefix>.*`). On an inbound
    // it also answers the requests its RBAC filter refuses (403), which never reach the cluster.
    let h = |stat: &str| format!("http.{name}.{stat}");
    let refused = if c.inbound { v(ACC_RBAC_DENIED) } else { 0 };
    let (total, cx) = (total + refused, cx.max(u64::from(refused > 0)));
    body.n(h("downstream_cx_total"), cx);
    body.n(h("downstream_cx_destroy"), cx);
    body.n(h("downstream_cx_active"), 0);
    body.n(h("downstream_rq_active"), 0);
    body.n(h("downstream_rq_total"), total);
    body.n(h("downstream_rq_completed"), total);
    body.n(h("downstream_rq_2xx"), ok);
    body.n(h("downstream_rq_4xx"), e403 + refused);
    body.n(h("downstream_rq_5xx"), e500 + e503);
    // Kuma's HTTP RBAC filter (`envoy.filters.http.rbac`, set without its own stat prefix by
    // `meshtrafficpermission/xds/rbac_configurer.go`): Envoy counts `http.<stat_prefix>.rbac.
    // {allowed,denied,shadow_allowed,shadow_denied}` (Envoy docs, HTTP RBAC filter, "Statistics":
    // https://www.envoyproxy.io/docs/envoy/v1.36.2/configuration/http/http_filters/rbac_filter).
    if c.inbound && c.rbac {
        let shadow_denied = v(ACC_SHADOW_DENIED);
        body.n(h("rbac.allowed"), v(ACC_RBAC_ALLOWED));
        body.n(h("rbac.denied"), refused);
        body.n(h("rbac.shadow_allowed"), 0);
        body.n(h("rbac.shadow_denied"), shadow_denied);
    }
    body.n(h("downstream_cx_rx_bytes_total"), v(ACC_TX));
    body.n(h("downstream_cx_tx_bytes_total"), v(ACC_RX));
    body.n(h("rq_total"), total);
    body.histogram(h("downstream_rq_time"), latency.map(|l| l + 0.4), c.active());
}

fn plumbing(body: &mut Body, name: &str, connections: u64, requests: u64) {
    let p = |stat: &str| format!("cluster.{name}.{stat}");
    for stat in [
        "assignment_stale",
        "bind_errors",
        "lb_healthy_panic",
        "membership_degraded",
        "membership_excluded",
        "upstream_cx_active",
        "upstream_cx_connect_fail",
        "upstream_cx_connect_timeout",
        "upstream_rq_active",
        "upstream_rq_pending_active",
        "upstream_rq_retry",
        "upstream_rq_timeout",
        "version",
        "warming_state",
    ] {
        body.n(p(stat), 0);
    }
    body.n(p("default.total_match_count"), 1);
    body.n(p("membership_change"), 1);
    body.n(p("membership_healthy"), 1);
    body.n(p("membership_total"), 1);
    body.n(p("upstream_cx_total"), connections);
    body.n(p("upstream_rq_total"), requests);
    body.n(
        p("upstream_rq_completed"),
        requests.saturating_sub(u64::from(connections > 0)),
    );
    body.histogram(p("upstream_cx_connect_ms"), (connections > 0).then_some(2.05), false);
    body.histogram(p("upstream_cx_length_ms"), None, false);
}

/// The text `/stats` of proxy `index` at clock time `t`.
pub fn stats_text(st: &State, index: usize, t: f64) -> String {
    render(&collect(st, index, t))
}

fn collect(st: &State, index: usize, t: f64) -> Body {
    let p: &ProxyRt = &st.proxies[index];
    let uptime = (t - p.envoy_start_s).max(0.0) as u64;
    let mut body = Body(BTreeMap::new());
    let version_text = |seed: &str| crate::sim::hash(seed);
    for (name, c) in &p.clusters {
        cluster_stats(&mut body, name, c, t, st.checkpoint_s);
        if !c.inbound {
            let v = version_text(&format!("eds/{name}"));
            body.text(
                format!("cluster.{name}.version_text"),
                format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    v >> 32,
                    v & 0xffff,
                    v & 0xfff,
                    (v >> 20) & 0xfff,
                    v >> 16
                ),
            );
        }
    }
    plumbing(&mut body, "ads_cluster", 1, 1);
    plumbing(&mut body, "access_log_sink", 0, 0);
    plumbing(&mut body, "kuma_envoy_admin", 1 + uptime / 60, 1 + uptime / 60);
    for passthrough in [
        "inbound_passthrough_ipv4",
        "inbound_passthrough_ipv6",
        "outbound_passthrough_ipv4",
        "outbound_passthrough_ipv6",
    ] {
        plumbing(&mut body, passthrough, 0, 0);
    }
    let clusters = p.clusters.len() as u64 + 7;
    let cds = version_text(&format!("cds/{}/{}", p.mesh, p.name));
    body.text(
        "cluster_manager.cds.version_text".into(),
        format!(
            "{:08x}-{:04x}-4{:03x}-b{:03x}-{:012x}",
            cds >> 32,
            cds & 0xffff,
            cds & 0xfff,
            (cds >> 20) & 0xfff,
            cds >> 16
        ),
    );
    body.text("control_plane.identifier".into(), st.cp.instance_id.clone());
    let lds = version_text(&format!("lds/{}/{}", p.mesh, p.name));
    body.text(
        "listener_manager.lds.version_text".into(),
        format!(
            "{:08x}-{:04x}-4{:03x}-9{:03x}-{:012x}",
            lds >> 32,
            lds & 0xffff,
            lds & 0xfff,
            (lds >> 20) & 0xfff,
            lds >> 16
        ),
    );
    body.n("cluster_manager.active_clusters".into(), clusters);
    body.n("cluster_manager.cds.update_attempt".into(), 4);
    body.n("cluster_manager.cds.update_rejected".into(), 0);
    body.n("cluster_manager.cds.update_success".into(), 3);
    body.n("cluster_manager.cluster_added".into(), clusters);
    body.n("cluster_manager.warming_clusters".into(), 0);
    body.n("control_plane.connected_state".into(), 1);
    body.n("control_plane.pending_requests".into(), 0);
    body.n("listener_manager.lds.update_attempt".into(), 4);
    body.n("listener_manager.lds.update_rejected".into(), 0);
    body.n("listener_manager.lds.update_success".into(), 3);
    body.n(
        "listener_manager.total_listeners_active".into(),
        4 + p.clusters.len() as u64,
    );
    body.n("server.concurrency".into(), 2);
    let days_until_expiry = match p.cert {
        crate::sim::Cert::Issued { expires, .. } => (expires - st.wall(t)).whole_days().max(0) as u64,
        _ => 0,
    };
    body.n("server.days_until_first_cert_expiring".into(), days_until_expiry);
    body.n("server.hot_restart_epoch".into(), 0);
    body.n("server.live".into(), 1);
    body.n("server.memory_allocated".into(), 11_000_000 + 40_000 * clusters);
    body.n("server.memory_heap_size".into(), 18_874_368);
    body.n("server.parent_connections".into(), 0);
    body.n("server.state".into(), 0);
    body.n("server.total_connections".into(), clusters);
    body.n("server.uptime".into(), uptime);
    body.n("server.version".into(), 911_538);
    body.histogram("server.initialization_time_ms".into(), Some(1350.0), false);
    body
}

fn render(body: &Body) -> String {
    let mut texts = String::new();
    let mut numbers = String::new();
    let mut histograms = String::new();
    for (name, stat) in &body.0 {
        match stat {
            Stat::Text(text) => texts.push_str(&format!("{name}: \"{text}\"\n")),
            Stat::Number(n) => numbers.push_str(&format!("{name}: {n}\n")),
            Stat::Histogram(None, None) => histograms.push_str(&format!("{name}: No recorded values\n")),
            Stat::Histogram(interval, cumulative) => {
                let fmt = |v: &Option<f64>, factor: f64| match v {
                    Some(x) => format!("{}", x * factor),
                    None => "nan".to_string(),
                };
                let parts: Vec<String> = PERCENTILES
                    .iter()
                    .map(|(p, f)| format!("P{p}({},{})", fmt(interval, *f), fmt(cumulative, *f)))
                    .collect();
                histograms.push_str(&format!("{name}: {}\n", parts.join(" ")));
            }
        }
    }
    texts + &numbers + &histograms
}

/// The same stats as Envoy's `/stats?format=json`: `{"stats": [{"name", "value"}, ...,
/// {"histograms": {"supported_quantiles": [...], "computed_quantiles": [...]}}]}`.
pub fn stats_json(st: &State, index: usize, t: f64) -> String {
    let body = collect(st, index, t);
    let mut stats = Vec::new();
    let mut computed = Vec::new();
    for (name, stat) in &body.0 {
        match stat {
            Stat::Text(text) => stats.push(serde_json::json!({"name": name, "value": text})),
            Stat::Number(n) => stats.push(serde_json::json!({"name": name, "value": n})),
            Stat::Histogram(interval, cumulative) => {
                let values: Vec<_> = PERCENTILES
                    .iter()
                    .map(|(_, f)| serde_json::json!({"interval": interval.map(|x| x * f), "cumulative": cumulative.map(|x| x * f)}))
                    .collect();
                computed.push(serde_json::json!({"name": name, "values": values}));
            }
        }
    }
    let quantiles: Vec<f64> = PERCENTILES.iter().map(|(p, _)| p.parse().unwrap_or(0.0)).collect();
    stats.push(serde_json::json!({"histograms": {"supported_quantiles": quantiles, "computed_quantiles": computed}}));
    serde_json::json!({ "stats": stats }).to_string()
}
