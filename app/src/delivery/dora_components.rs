//! The team page's "Delivery performance" section: the DORA metrics of the team's components,
//! each with its DORA 2024 performance level, and deployments per week as a small bar chart
//! (rendered on the server as SVG) with failed deployments marked.

use leptos::prelude::*;

use super::{DoraBand, DoraReport, DoraWeek};
use crate::error::{error_fallback, AppError};
use crate::ui::Loading;

/// Seconds as the page says them: `45 min`, `5.5 h`, `3.0 d`.
pub fn format_duration(seconds: f64) -> String {
    match seconds {
        s if s < 60.0 => format!("{s:.0} s"),
        s if s < 3_600.0 => format!("{:.0} min", s / 60.0),
        s if s < 86_400.0 => format!("{:.1} h", s / 3_600.0),
        s => format!("{:.1} d", s / 86_400.0),
    }
}

/// A fraction as a percentage: `0.25` is `25%`.
pub fn format_rate(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

fn band_color(band: DoraBand) -> &'static str {
    match band {
        DoraBand::Elite => "bg-emerald-100 text-emerald-800",
        DoraBand::High => "bg-sky-100 text-sky-800",
        DoraBand::Medium => "bg-amber-100 text-amber-800",
        DoraBand::Low => "bg-red-100 text-red-800",
    }
}

/// One figure: its name, value, what it was measured on, and its level.
#[component]
fn Figure(
    name: &'static str,
    value: Option<String>,
    detail: String,
    band: Option<DoraBand>,
    test: &'static str,
) -> impl IntoView {
    view! {
        <div class="rounded border border-slate-200 p-3" data-test-dora-figure=test>
            <dt class="text-xs uppercase text-slate-500">{name}</dt>
            <dd class="mt-1 flex items-center gap-2">
                <span class="text-xl font-semibold">{value.unwrap_or_else(|| "—".to_owned())}</span>
                {band.map(|b| view! {
                    <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {}", band_color(b))
                        data-test-dora-band=b.label()>{b.label()}</span>
                })}
            </dd>
            <dd class="mt-1 text-xs text-slate-500">{detail}</dd>
        </div>
    }
}

/// Deployments per week as bars, the failed part of each in red.
#[component]
pub fn DeploymentsChart(weeks: Vec<DoraWeek>) -> impl IntoView {
    let (w, h) = (320.0_f64, 80.0_f64);
    let max = weeks.iter().map(|w| w.deployments).max().unwrap_or(0).max(1) as f64;
    let slot = w / weeks.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let scale = |n: i64| n as f64 / max * (h - 2.0);
    let label = format!(
        "Deployments per week, failed ones in red: {}",
        weeks
            .iter()
            .map(|w| format!("week of {}: {} ({} failed)", w.week, w.deployments, w.failed))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, week)| {
            let x = i as f64 * slot + (slot - bar) / 2.0;
            let (all, failed) = (scale(week.deployments), scale(week.failed));
            view! {
                <g data-test-dora-week=week.week.clone()>
                    <rect x=format!("{x:.1}") y=format!("{:.1}", h - all) width=format!("{bar:.1}")
                        height=format!("{all:.1}") class="fill-indigo-400"/>
                    <rect x=format!("{x:.1}") y=format!("{:.1}", h - failed) width=format!("{bar:.1}")
                        height=format!("{failed:.1}") class="fill-red-500"/>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="mt-3 h-20 w-full max-w-md" role="img" aria-label=label
            data-test-dora-chart="">
            {bars}
        </svg>
    }
}

fn section_body(r: DoraReport) -> AnyView {
    if r.deployments == 0 {
        return view! {
            <p class="mt-2 text-sm text-slate-500" data-test-dora-empty="">
                "No deployments of this team's components in the last 12 weeks. Producers report them as CDEvents "
                <code>"service.deployed"</code>" and "<code>"service.upgraded"</code>"."
            </p>
        }
        .into_any();
    }
    let frequency = format!("{:.1} / week", r.deployments_per_day * 7.0);
    let lead = r.lead_time_median_s.map(format_duration);
    let lead_detail = match r.lead_time_p90_s {
        Some(p90) => format!(
            "median over {} changes; 90th percentile {}",
            r.changes,
            format_duration(p90)
        ),
        None => "no merged change linked to a deployment (CDEvents chainId)".to_owned(),
    };
    let recovery_detail = format!(
        "median over {} recovered of {} failed",
        r.recovered_deployments, r.failed_deployments
    );
    let rework = r.rework_rate.map(|rate| {
        format!(
            "Rework rate {} ({} of {} deployments fixed a failed one).",
            format_rate(rate),
            r.rework_deployments,
            r.deployments
        )
    });
    let environments = if r.environments.is_empty() {
        "all environments".to_owned()
    } else {
        r.environments.join(", ")
    };
    view! {
        <dl class="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Figure name="Deployment frequency" value=Some(frequency) band=r.deployment_frequency_band
                detail=format!("{} deployments", r.deployments) test="frequency"/>
            <Figure name="Lead time for changes" value=lead band=r.lead_time_band detail=lead_detail test="lead-time"/>
            <Figure name="Change failure rate" value=r.change_failure_rate.map(format_rate) band=r.change_failure_band
                detail=format!("{} of {} deployments failed", r.failed_deployments, r.deployments) test="change-failure"/>
            <Figure name="Failed deployment recovery" value=r.recovery_time_median_s.map(format_duration)
                band=r.recovery_time_band detail=recovery_detail test="recovery"/>
        </dl>
        <p class="mt-2 text-xs text-slate-500" data-test-dora-rework="">{rework}</p>
        <DeploymentsChart weeks=r.weeks/>
        <p class="mt-1 text-xs text-slate-500">
            {format!("Deployments to {environments}, {} to {}. ", r.from.get(..10).unwrap_or(&r.from), r.to.get(..10).unwrap_or(&r.to))}
            "Levels from the DORA 2024 report; definitions and SQL in docs/dora.md."
        </p>
    }
    .into_any()
}

/// The team page's DORA section.
#[component]
pub fn DoraSection(dora: Resource<Result<Option<DoraReport>, AppError>>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="dora-heading" data-test="dora-section">
            <h2 id="dora-heading" class="font-semibold">"Delivery performance (DORA), last 12 weeks"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { dora.await.map(|r| r.map(section_body)) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_well() {
        assert_eq!(format_duration(45.0), "45 s");
        assert_eq!(format_duration(1_800.0), "30 min");
        assert_eq!(format_duration(5.5 * 3_600.0), "5.5 h");
        assert_eq!(format_duration(3.0 * 86_400.0), "3.0 d");
        assert_eq!(format_rate(0.25), "25%");
    }
}
