//! Mesh widgets, shown on the overview and on catalog pages. Each takes the data it shows, or
//! the resource its page created for it: pages request everything when they are entered.

mod card;
mod drift;
mod ownership;
mod team;

pub use card::MeshCardSection;
pub use drift::{drift_links, team_drift_for, team_ownership_for, TeamDrift, TeamDriftSection};
pub use ownership::{team_mismatches, without_identity};
pub use team::TeamMeshSection;

use leptos::prelude::*;

use super::{format_age, format_rate, Freshness, TrafficPoint};

/// "Stale: last read 5 min ago" when the data is old; nothing when it is fresh.
#[component]
pub fn StaleNotice(freshness: Freshness) -> impl IntoView {
    freshness.stale.then(|| {
        let age = freshness
            .age_s
            .map(|a| format!("the last successful read was {} ago", format_age(a)))
            .unwrap_or_else(|| "the control plane has not been read successfully yet".into());
        view! {
            <p class="rounded border border-amber-200 bg-amber-50 px-3 py-1.5 text-sm text-amber-900" role="status" data-test-stale="">
                {format!("Stale: {age}. Showing the last known state.")}
            </p>
        }
    })
}

/// The date part of an RFC 3339 time.
fn day(t: &str) -> String {
    t.get(..10).unwrap_or(t).to_owned()
}

/// Requests per second (and 5xx per second, in red) as a small line chart.
#[component]
pub fn TrafficChart(points: Vec<TrafficPoint>) -> impl IntoView {
    if points.len() < 2 {
        return view! { <p class="text-sm text-slate-500">"Not enough traffic samples yet for a chart."</p> }
            .into_any();
    }
    let (w, h) = (320.0_f64, 60.0_f64);
    let max = points
        .iter()
        .map(|p| p.requests_per_s)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let step = w / (points.len() - 1) as f64;
    let line = |value: fn(&TrafficPoint) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", i as f64 * step, h - value(p) / max * (h - 4.0) - 2.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let label = format!(
        "Inbound requests per second from {} to {}, peak {}",
        points.first().map(|p| p.at.as_str()).unwrap_or_default(),
        points.last().map(|p| p.at.as_str()).unwrap_or_default(),
        format_rate(max)
    );
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="h-16 w-full max-w-sm" role="img" aria-label=label data-test-traffic-chart="">
            <polyline points=line(|p| p.requests_per_s) fill="none" class="stroke-indigo-500" stroke-width="1.5"/>
            <polyline points=line(|p| p.errors_per_s) fill="none" class="stroke-red-500" stroke-width="1"/>
        </svg>
    }
    .into_any()
}
