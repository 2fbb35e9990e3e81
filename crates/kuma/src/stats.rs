//! Envoy `/stats`: parsing, per-cluster request counters, and rates between two polls.
//!
//! Kuma's API gives no rates (README: "The API gives no rates: traffic rates come from differencing
//! successive `/stats` polls"); `GET /meshes/{mesh}/dataplanes/{name}/stats` returns Envoy's
//! cumulative counters as text. The text format (`fixtures/envoy-stats.txt`) is one stat per line:
//!
//! - `name: 123` for counters and gauges (the text does not say which);
//! - `name: "text"` for text readouts (versions, identifiers);
//! - `name: P0(interval,cumulative) P25(..) ... P100(..)` for histograms, values in the
//!   histogram's unit (milliseconds for `upstream_rq_time`), `nan` when there is no data; or
//!   `name: No recorded values`.
//!
//! Per cluster we read `cluster.<name>.upstream_rq_total`, `_2xx` ... `_5xx`, `_completed`,
//! `_timeout`, `upstream_cx_connect_fail` and byte counters. Envoy creates the status-class
//! counters on first use, so an absent `upstream_rq_5xx` is zero. Stats under
//! `cluster.<name>.internal.` / `.external.` (the same requests split by origin) are not added again.
//!
//! Cluster names tell direction (names as in the fixture, written with `_` where Kuma uses `:`,
//! since Envoy sanitises stat names): `localhost_<port>` is an inbound cluster (the proxy forwarding
//! to its own application: traffic the service *receives*); `inbound_passthrough_*` and
//! `outbound_passthrough_*` carry traffic to or from outside the mesh; `ads_cluster`,
//! `access_log_sink` and `kuma_envoy_admin` are Kuma's own plumbing; every other cluster is an
//! outbound cluster named after the destination's `kuma.io/service` (traffic the service *sends*).
//!
//! [`rates`] differences two [`Sample`]s. Counters only grow, so a counter that went down means the
//! proxy restarted (or the cluster was re-created) and its current value is the count since then:
//! it is used as the delta. A cluster that appears between polls was created in between, so its
//! whole count is the delta.

use crate::Error;
use std::collections::BTreeMap;
use std::time::Duration;

/// A parsed `/stats` body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvoyStats {
    /// Counters and gauges.
    pub values: BTreeMap<String, u64>,
    /// Text readouts (unquoted).
    pub text: BTreeMap<String, String>,
    /// Histograms (empty `quantiles` for "No recorded values").
    pub histograms: BTreeMap<String, Histogram>,
}

/// A histogram's quantiles as Envoy prints them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// In Envoy's order (P0, P25, P50, ...).
    pub quantiles: Vec<Quantile>,
}

/// One `Pxx(interval,cumulative)` entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantile {
    /// The percentile, e.g. 99.5 for `P99.5`.
    pub percentile: f64,
    /// Value over the last stats flush interval; `None` for `nan` (no data in the interval).
    pub interval: Option<f64>,
    /// Value since the proxy started; `None` for `nan`.
    pub cumulative: Option<f64>,
}

impl Histogram {
    /// The quantile for `percentile`, if Envoy printed it.
    pub fn quantile(&self, percentile: f64) -> Option<&Quantile> {
        self.quantiles.iter().find(|q| (q.percentile - percentile).abs() < 1e-9)
    }

    /// Whether any value was ever recorded.
    pub fn has_data(&self) -> bool {
        self.quantiles
            .iter()
            .any(|q| q.interval.is_some() || q.cumulative.is_some())
    }
}

impl EnvoyStats {
    /// A counter or gauge, if present.
    pub fn value(&self, name: &str) -> Option<u64> {
        self.values.get(name).copied()
    }
}

/// Parses Envoy's text `/stats` body. Blank lines are skipped; any other line that is not
/// `name: value` is an error (a proxy or control plane answering garbage must not read as "no
/// traffic").
pub fn parse_stats_text(body: &str) -> Result<EnvoyStats, Error> {
    let mut stats = EnvoyStats::default();
    for (index, line) in body.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = || Error::StatsLine {
            line: index + 1,
            content: line.chars().take(120).collect(),
        };
        let (name, value) = line.split_once(':').ok_or_else(bad)?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        if let Ok(number) = value.parse::<u64>() {
            stats.values.insert(name.to_string(), number);
        } else if let Some(quoted) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            stats.text.insert(name.to_string(), quoted.to_string());
        } else if value == "No recorded values" {
            stats.histograms.insert(name.to_string(), Histogram::default());
        } else if value.starts_with('P') {
            stats
                .histograms
                .insert(name.to_string(), parse_histogram(value).ok_or_else(bad)?);
        } else {
            return Err(bad());
        }
    }
    Ok(stats)
}

fn parse_histogram(value: &str) -> Option<Histogram> {
    let mut quantiles = Vec::new();
    for part in value.split_whitespace() {
        let inner = part.strip_prefix('P')?;
        let (percentile, rest) = inner.split_once('(')?;
        let (interval, cumulative) = rest.strip_suffix(')')?.split_once(',')?;
        quantiles.push(Quantile {
            percentile: percentile.parse().ok()?,
            interval: parse_sample(interval)?,
            cumulative: parse_sample(cumulative)?,
        });
    }
    Some(Histogram { quantiles })
}

/// `nan` is "no data" (Some(None)); anything unparsable is an error (None).
fn parse_sample(text: &str) -> Option<Option<f64>> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("nan") {
        return Some(None);
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some)
}

/// Parses `/stats?format=json`: Envoy's `{"stats": [{"name", "value"}, {"histograms": ...}]}`, or
/// the flat `{name: number}` map Kuma's API test golden shows (`inspect_stats_dataplane.json`).
pub fn parse_stats_json(body: &str) -> Result<EnvoyStats, Error> {
    let doc: serde_json::Value = serde_json::from_str(body).map_err(|e| Error::StatsJson(e.to_string()))?;
    let object = doc
        .as_object()
        .ok_or_else(|| Error::StatsJson("expected a JSON object".into()))?;
    let mut stats = EnvoyStats::default();
    let Some(list) = object.get("stats") else {
        for (name, value) in object {
            insert_json_value(&mut stats, name, value)?;
        }
        return Ok(stats);
    };
    let list = list
        .as_array()
        .ok_or_else(|| Error::StatsJson("`stats` is not an array".into()))?;
    for entry in list {
        if let (Some(name), Some(value)) = (entry.get("name").and_then(|n| n.as_str()), entry.get("value")) {
            insert_json_value(&mut stats, name, value)?;
        } else if let Some(histograms) = entry.get("histograms") {
            read_json_histograms(&mut stats, histograms);
        }
    }
    Ok(stats)
}

fn insert_json_value(stats: &mut EnvoyStats, name: &str, value: &serde_json::Value) -> Result<(), Error> {
    match value {
        serde_json::Value::Number(n) => {
            let v = n
                .as_u64()
                .ok_or_else(|| Error::StatsJson(format!("{name}: {n} is not an unsigned integer")))?;
            stats.values.insert(name.to_string(), v);
        }
        serde_json::Value::String(s) => {
            stats.text.insert(name.to_string(), s.clone());
        }
        other => return Err(Error::StatsJson(format!("{name}: unexpected value {other}"))),
    }
    Ok(())
}

fn read_json_histograms(stats: &mut EnvoyStats, histograms: &serde_json::Value) {
    let percentiles: Vec<f64> = histograms
        .get("supported_quantiles")
        .and_then(|q| q.as_array())
        .map(|q| q.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    let computed = histograms.get("computed_quantiles").and_then(|c| c.as_array());
    for histogram in computed.into_iter().flatten() {
        let Some(name) = histogram.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let values = histogram.get("values").and_then(|v| v.as_array());
        let quantiles = values
            .into_iter()
            .flatten()
            .zip(&percentiles)
            .map(|(v, &percentile)| Quantile {
                percentile,
                interval: v.get("interval").and_then(|x| x.as_f64()),
                cumulative: v.get("cumulative").and_then(|x| x.as_f64()),
            })
            .collect();
        stats.histograms.insert(name.to_string(), Histogram { quantiles });
    }
}

/// Which way a cluster's traffic goes, from the proxy's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClusterKind {
    /// To the proxy's own application: requests the service receives.
    Inbound,
    /// To another mesh service: requests the service sends.
    Outbound,
    /// Passthrough to or from outside the mesh.
    Passthrough,
    /// Kuma's plumbing (control plane, access logs, admin).
    Internal,
}

/// Classifies a cluster by name (see the module docs).
pub fn classify_cluster(name: &str) -> ClusterKind {
    let sanitized = name.replace(':', "_");
    match sanitized.as_str() {
        "ads_cluster" | "access_log_sink" | "kuma_envoy_admin" => ClusterKind::Internal,
        n if n.starts_with("inbound_passthrough") || n.starts_with("outbound_passthrough") => ClusterKind::Passthrough,
        n if n
            .strip_prefix("localhost_")
            .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())) =>
        {
            ClusterKind::Inbound
        }
        _ => ClusterKind::Outbound,
    }
}

/// Cumulative request counters of one cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounters {
    /// `upstream_rq_total`.
    pub rq_total: u64,
    /// `upstream_rq_2xx`.
    pub rq_2xx: u64,
    /// `upstream_rq_3xx`.
    pub rq_3xx: u64,
    /// `upstream_rq_4xx`.
    pub rq_4xx: u64,
    /// `upstream_rq_5xx`.
    pub rq_5xx: u64,
    /// `upstream_rq_403`: on an outbound cluster, calls the destination's RBAC (its traffic
    /// permissions) refused, since Envoy answers a denied request with 403.
    pub rq_403: u64,
    /// `upstream_rq_completed`.
    pub rq_completed: u64,
    /// `upstream_rq_timeout`.
    pub rq_timeout: u64,
    /// `upstream_cx_connect_fail`.
    pub cx_connect_fail: u64,
    /// `upstream_cx_total`.
    pub cx_total: u64,
    /// `upstream_cx_rx_bytes_total`.
    pub rx_bytes: u64,
    /// `upstream_cx_tx_bytes_total`.
    pub tx_bytes: u64,
}

/// How many counters [`RequestCounters`] holds.
const N_COUNTERS: usize = 12;

/// Accessor of one counter field, so the stat names and fields are listed once.
type CounterField = fn(&mut RequestCounters) -> &mut u64;

const COUNTERS: [(&str, CounterField); N_COUNTERS] = [
    ("upstream_rq_total", |c| &mut c.rq_total),
    ("upstream_rq_2xx", |c| &mut c.rq_2xx),
    ("upstream_rq_3xx", |c| &mut c.rq_3xx),
    ("upstream_rq_4xx", |c| &mut c.rq_4xx),
    ("upstream_rq_5xx", |c| &mut c.rq_5xx),
    ("upstream_rq_403", |c| &mut c.rq_403),
    ("upstream_rq_completed", |c| &mut c.rq_completed),
    ("upstream_rq_timeout", |c| &mut c.rq_timeout),
    ("upstream_cx_connect_fail", |c| &mut c.cx_connect_fail),
    ("upstream_cx_total", |c| &mut c.cx_total),
    ("upstream_cx_rx_bytes_total", |c| &mut c.rx_bytes),
    ("upstream_cx_tx_bytes_total", |c| &mut c.tx_bytes),
];

impl RequestCounters {
    fn pairs(&self) -> [u64; N_COUNTERS] {
        let mut copy = *self;
        COUNTERS.map(|(_, field)| *field(&mut copy))
    }

    fn from_pairs(values: [u64; N_COUNTERS]) -> Self {
        let mut out = RequestCounters::default();
        for ((_, field), value) in COUNTERS.iter().zip(values) {
            *field(&mut out) = value;
        }
        out
    }
}

/// One cluster in a [`Sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSample {
    /// Direction.
    pub kind: ClusterKind,
    /// Cumulative counters.
    pub counters: RequestCounters,
    /// `upstream_rq_time` (milliseconds), when Envoy has recorded any.
    pub latency: Option<Histogram>,
}

/// One proxy's request counters at one poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// `server.uptime` in seconds, when present; a decrease means Envoy restarted.
    pub uptime_s: Option<u64>,
    /// By cluster name.
    pub clusters: BTreeMap<String, ClusterSample>,
}

impl Sample {
    /// Extracts the per-cluster counters from parsed stats. A cluster is any `<name>` with a
    /// `cluster.<name>.upstream_cx_total` or `cluster.<name>.upstream_rq_total` (cluster names may
    /// contain dots, so names are never split on them).
    pub fn from_stats(stats: &EnvoyStats) -> Sample {
        let mut names: Vec<&str> = Vec::new();
        for key in stats.values.keys() {
            let Some(rest) = key.strip_prefix("cluster.") else {
                continue;
            };
            let name = rest
                .strip_suffix(".upstream_cx_total")
                .or_else(|| rest.strip_suffix(".upstream_rq_total"));
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let mut clusters = BTreeMap::new();
        for name in names {
            let mut counters = RequestCounters::default();
            for (stat, field) in COUNTERS {
                *field(&mut counters) = stats.value(&format!("cluster.{name}.{stat}")).unwrap_or(0);
            }
            let latency = stats
                .histograms
                .get(&format!("cluster.{name}.upstream_rq_time"))
                .filter(|h| h.has_data())
                .cloned();
            clusters.insert(
                name.to_string(),
                ClusterSample {
                    kind: classify_cluster(name),
                    counters,
                    latency,
                },
            );
        }
        Sample {
            uptime_s: stats.value("server.uptime"),
            clusters,
        }
    }

    /// Parses a text `/stats` body straight into a sample.
    pub fn parse(body: &str) -> Result<Sample, Error> {
        Ok(Sample::from_stats(&parse_stats_text(body)?))
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Whether the values cover Envoy's last flush interval (recent) or the proxy's lifetime.
    pub window: LatencyWindow,
}

/// What a [`Latency`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatencyWindow {
    /// Envoy's last stats flush interval: current latency.
    Interval,
    /// Since the proxy started (used when the last interval had no requests).
    Cumulative,
}

impl Latency {
    /// Percentiles from an `upstream_rq_time` histogram: the interval values when the last interval
    /// has data, else the cumulative ones.
    pub fn from_histogram(h: &Histogram) -> Option<Latency> {
        let pick = |window: LatencyWindow| {
            let at = |p: f64| {
                h.quantile(p).and_then(|q| match window {
                    LatencyWindow::Interval => q.interval,
                    LatencyWindow::Cumulative => q.cumulative,
                })
            };
            let latency = Latency {
                p50_ms: at(50.0),
                p90_ms: at(90.0),
                p95_ms: at(95.0),
                p99_ms: at(99.0),
                window,
            };
            [latency.p50_ms, latency.p90_ms, latency.p95_ms, latency.p99_ms]
                .iter()
                .any(Option::is_some)
                .then_some(latency)
        };
        pick(LatencyWindow::Interval).or_else(|| pick(LatencyWindow::Cumulative))
    }
}

/// Per-second rates of one cluster between two samples.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterRates {
    /// Direction.
    pub kind: ClusterKind,
    /// Requests per second.
    pub requests_per_s: f64,
    /// 2xx responses per second.
    pub rq_2xx_per_s: f64,
    /// 3xx responses per second.
    pub rq_3xx_per_s: f64,
    /// 4xx responses per second.
    pub rq_4xx_per_s: f64,
    /// 5xx responses per second: the error rate.
    pub rq_5xx_per_s: f64,
    /// 403 responses per second: on an outbound cluster, calls the destination's traffic
    /// permissions denied.
    pub denied_per_s: f64,
    /// Request timeouts per second.
    pub timeouts_per_s: f64,
    /// Connection failures per second.
    pub connect_failures_per_s: f64,
    /// Bytes received per second.
    pub rx_bytes_per_s: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_s: f64,
    /// The counter increases the rates come from.
    pub delta: RequestCounters,
    /// Whether a counter reset (restart, re-created cluster, or a cluster new since the last poll)
    /// was detected and current values were used as deltas.
    pub reset: bool,
    /// Latency from the newer sample's histogram.
    pub latency: Option<Latency>,
}

/// Rates of every cluster between two polls of one proxy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rates {
    /// Seconds between the samples.
    pub elapsed_s: f64,
    /// Whether the whole proxy restarted in between (`server.uptime` went down).
    pub restarted: bool,
    /// By cluster name; clusters gone from the newer sample are left out.
    pub clusters: BTreeMap<String, ClusterRates>,
}

/// Summed rates of all clusters of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateTotals {
    /// Requests per second.
    pub requests_per_s: f64,
    /// 5xx responses per second.
    pub errors_per_s: f64,
}

impl Rates {
    /// Totals over clusters of `kind` (e.g. [`ClusterKind::Inbound`] for the traffic a service
    /// receives).
    pub fn totals(&self, kind: ClusterKind) -> RateTotals {
        self.clusters
            .values()
            .filter(|c| c.kind == kind)
            .fold(RateTotals::default(), |acc, c| RateTotals {
                requests_per_s: acc.requests_per_s + c.requests_per_s,
                errors_per_s: acc.errors_per_s + c.rq_5xx_per_s,
            })
    }
}

/// Rates between `prev` and `cur`, taken `elapsed` apart. A zero `elapsed` yields zero rates.
pub fn rates(prev: &Sample, cur: &Sample, elapsed: Duration) -> Rates {
    let secs = elapsed.as_secs_f64();
    let restarted = matches!((prev.uptime_s, cur.uptime_s), (Some(p), Some(c)) if c < p);
    let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let clusters = cur
        .clusters
        .iter()
        .map(|(name, now)| {
            let before = prev.clusters.get(name).filter(|_| !restarted);
            let (delta, reset) = match before {
                None => (now.counters, true),
                Some(before) => {
                    let (b, n) = (before.counters.pairs(), now.counters.pairs());
                    // One counter going down means the cluster's counters all restarted from zero.
                    if b.iter().zip(&n).any(|(b, n)| n < b) {
                        (now.counters, true)
                    } else {
                        let mut d = [0u64; N_COUNTERS];
                        for (i, slot) in d.iter_mut().enumerate() {
                            *slot = n[i] - b[i];
                        }
                        (RequestCounters::from_pairs(d), false)
                    }
                }
            };
            let rates = ClusterRates {
                kind: now.kind,
                requests_per_s: per_s(delta.rq_total),
                rq_2xx_per_s: per_s(delta.rq_2xx),
                rq_3xx_per_s: per_s(delta.rq_3xx),
                rq_4xx_per_s: per_s(delta.rq_4xx),
                rq_5xx_per_s: per_s(delta.rq_5xx),
                denied_per_s: per_s(delta.rq_403),
                timeouts_per_s: per_s(delta.rq_timeout),
                connect_failures_per_s: per_s(delta.cx_connect_fail),
                rx_bytes_per_s: per_s(delta.rx_bytes),
                tx_bytes_per_s: per_s(delta.tx_bytes),
                delta,
                reset,
                latency: now.latency.as_ref().and_then(Latency::from_histogram),
            };
            (name.clone(), rates)
        })
        .collect();
    Rates {
        elapsed_s: secs,
        restarted,
        clusters,
    }
}
