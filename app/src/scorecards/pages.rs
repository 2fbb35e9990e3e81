//! `/scorecards` (every card over the organisation, a team or a system: how many components
//! stopped at each level, each check's pass rate, the worst components), the component page's
//! "Scorecards" section (level, failing checks with reasons, 30-day trend) and the team page's
//! roll-up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::get_scorecards;
use super::{CardSummary, CheckOutcome, ComponentCard, ComponentScorecards, HistoryPoint, ScorecardList, TREND_DAYS};
use crate::catalog::ref_href;
use crate::error::{error_fallback, AppError};
use crate::ui::{href_with, EmptyState, Loading};

/// Fill of "no level" and of each level, lowest first (the last repeats beyond).
const NONE_FILL: &str = "#cbd5e1";
const LEVEL_FILLS: [&str; 6] = ["#b45309", "#64748b", "#ca8a04", "#15803d", "#0369a1", "#7c3aed"];

fn level_fill(i: usize) -> &'static str {
    LEVEL_FILLS[i.min(LEVEL_FILLS.len() - 1)]
}

fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// The name after `kind:namespace/`.
fn short(key: &str) -> String {
    key.rsplit_once('/').map_or(key, |(_, n)| n).to_owned()
}

/// How many components stopped at each level, as one stacked bar with a legend. The bar is an
/// image whose text alternative says what it shows; the legend repeats it for everyone.
#[component]
fn LevelBar(s: CardSummary) -> impl IntoView {
    let total = s.components.max(1) as f64;
    let mut parts: Vec<(String, u64, &'static str)> = vec![("No level".to_owned(), s.none, NONE_FILL)];
    parts.extend(
        s.levels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.clone(), l.count, level_fill(i))),
    );
    let label = format!(
        "{}: {} components; {}",
        s.card.title,
        s.components,
        parts
            .iter()
            .map(|(name, n, _)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut x = 0.0;
    let rects = parts
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(name, n, fill)| {
            let width = *n as f64 / total * 100.0;
            let at = x;
            x += width;
            view! {
                <rect x=format!("{at:.3}") y="0" width=format!("{width:.3}") height="10" fill=*fill>
                    <title>{format!("{name}: {n}")}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg viewBox="0 0 100 10" preserveAspectRatio="none" class="mt-3 h-5 w-full rounded bg-slate-100"
            role="img" aria-label=label data-test-level-bar=s.card.name.clone()>
            {rects}
        </svg>
        <ul class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700" aria-hidden="true">
            {parts.into_iter().map(|(name, n, fill)| view! {
                <li class="flex items-center gap-1">
                    <svg viewBox="0 0 10 10" class="h-3 w-3"><rect width="10" height="10" fill=fill/></svg>
                    {format!("{name}: {n}")}
                </li>
            }).collect_view()}
        </ul>
    }
}

/// A level as a badge: its name, or "No level".
#[component]
pub fn LevelBadge(levels: Vec<String>, level: Option<u32>) -> impl IntoView {
    let (text, fill) = match level.and_then(|l| levels.get(l as usize).map(|n| (n.clone(), level_fill(l as usize)))) {
        Some((name, fill)) => (name, fill),
        None => ("No level".to_owned(), NONE_FILL),
    };
    view! {
        <span class="inline-flex items-center gap-1 rounded border border-slate-200 px-1.5 py-0.5 text-xs font-medium" data-test-level=text.clone()>
            <svg viewBox="0 0 10 10" class="h-2.5 w-2.5" aria-hidden="true"><circle cx="5" cy="5" r="5" fill=fill/></svg>
            {text.clone()}
        </span>
    }
}

fn card_panel(s: CardSummary, scope: (Option<String>, Option<String>)) -> impl IntoView {
    let name = s.card.name.clone();
    let heading = format!("card-{name}");
    let labelled_by = heading.clone();
    let levels = s.card.levels.clone();
    let checks = s.checks.clone();
    let worst = s.worst.clone();
    let (team, system) = scope;
    let api = href_with(
        &format!("/api/v1/scorecards/{name}"),
        &[("team", team), ("system", system)],
    );
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-4" aria-labelledby=labelled_by data-test-card=name.clone()>
            <h2 id=heading class="text-lg font-semibold">{s.card.title.clone()}</h2>
            {s.card.description.clone().map(|d| view! { <p class="text-sm text-slate-600">{d}</p> })}
            <p class="mt-1 text-sm text-slate-600">
                {format!("{} components, mean score {}", s.components, percent(s.mean_score))}
            </p>
            <LevelBar s=s/>
            <div class="mt-4 grid gap-4 lg:grid-cols-2">
                <table class="w-full text-left text-sm" data-test-check-rates="">
                    <caption class="text-left text-sm font-semibold">"Pass rate per check"</caption>
                    <thead class="text-xs uppercase text-slate-500">
                        <tr><th class="pr-3">"Check"</th><th class="pr-3">"Level"</th><th class="pr-3">"Pass rate"</th><th>"Unknown"</th></tr>
                    </thead>
                    <tbody>
                        {checks.into_iter().map(|c| view! {
                            <tr class="border-t border-slate-100" data-test-check=c.id.clone()>
                                <td class="py-1 pr-3">{c.title}</td>
                                <td class="py-1 pr-3 text-slate-600">{levels.get(c.level as usize).cloned().unwrap_or_default()}</td>
                                <td class="py-1 pr-3">{c.pass_rate.map(percent).unwrap_or_else(|| "—".into())}
                                    <span class="ml-1 text-xs text-slate-500">{format!("({} of {})", c.passed, c.passed + c.failed)}</span></td>
                                <td class="py-1 text-slate-600">{c.unknown}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <div>
                    <h3 class="text-sm font-semibold">"Lowest scores"</h3>
                    {if worst.is_empty() {
                        view! { <p class="mt-1 text-sm text-slate-500">"No component in scope is evaluated against this card."</p> }.into_any()
                    } else {
                        view! {
                            <ol class="mt-1 space-y-1 text-sm" data-test-worst="">
                                {worst.into_iter().map(|w| {
                                    let levels = levels.clone();
                                    view! {
                                        <li class="flex items-center gap-2">
                                            <a class="text-indigo-700 hover:underline" href=ref_href(&w.component)>{w.title.clone().unwrap_or_else(|| short(&w.component))}</a>
                                            <LevelBadge levels=levels level=w.level/>
                                            <span class="text-slate-600">{percent(w.score)}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }.into_any()
                    }}
                    <a class="mt-2 inline-block text-xs text-indigo-700 hover:underline" href=api>"Every component (JSON)"</a>
                </div>
            </div>
        </section>
    }
}

fn select(name: &'static str, label: &'static str, options: Vec<String>, chosen: Option<String>) -> impl IntoView {
    view! {
        <label class="text-sm">
            <span class="block text-xs text-slate-600">{label}</span>
            <select name=name class="rounded border border-slate-300 px-2 py-1">
                <option value="">"All"</option>
                {options.into_iter().map(|o| {
                    let selected = chosen.as_deref() == Some(o.as_str());
                    view! { <option value=o.clone() selected=selected>{short(&o)}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

fn list_body(list: ScorecardList) -> AnyView {
    if list.cards.is_empty() {
        return view! {
            <EmptyState title="No scorecards" hint="Start the server with --scorecards DIR (see scorecards/ in the repository) to say what good looks like.">
                <span></span>
            </EmptyState>
        }
        .into_any();
    }
    let scope = (list.team.clone(), list.system.clone());
    view! {
        <form method="GET" action="/scorecards" class="mb-4 flex flex-wrap items-end gap-2" data-test="scorecard-filters">
            {select("team", "Team", list.teams.clone(), list.team.clone())}
            {select("system", "System", list.systems.clone(), list.system.clone())}
            <button class="rounded bg-indigo-600 px-3 py-1.5 text-sm text-white">"Filter"</button>
        </form>
        {match &list.day {
            Some(day) => view! { <p class="mb-3 text-xs text-slate-500">{format!("Results of {day} (UTC), kept up to date as the catalog, the mesh and deliveries change.")}</p> }.into_any(),
            None => view! { <p class="mb-3 text-sm text-slate-600" data-test="scorecards-pending">"No component has been evaluated yet; results appear after the first pass of the scorecard worker."</p> }.into_any(),
        }}
        <div class="space-y-4">
            {list.cards.into_iter().map(|c| card_panel(c, scope.clone())).collect_view()}
        </div>
    }
    .into_any()
}

/// `/scorecards?team=&system=`: every card's roll-up.
#[component]
pub fn ScorecardsPage() -> impl IntoView {
    let query = use_query_map();
    let list = Resource::new(
        move || {
            let q = query.read();
            (q.get("team"), q.get("system"))
        },
        |(team, system)| get_scorecards(team, system),
    );
    view! {
        <Title text="Scorecards"/>
        <h1 class="mb-1 text-2xl font-semibold">"Scorecards"</h1>
        <p class="mb-4 text-sm text-slate-600">"What good looks like, level by level, and how far each component got."</p>
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move { list.await.map(list_body) })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// A small line of the daily scores (0 at the bottom, 1 at the top), with a text alternative.
fn sparkline(points: &[HistoryPoint]) -> AnyView {
    if points.len() < 2 {
        return ().into_any();
    }
    let n = (points.len() - 1) as f64;
    let path = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.2},{:.2}", i as f64 / n * 100.0, 20.0 - p.score * 20.0))
        .collect::<Vec<_>>()
        .join(" ");
    let label = format!(
        "Score from {} ({}) to {} ({})",
        points[0].day,
        percent(points[0].score),
        points[points.len() - 1].day,
        percent(points[points.len() - 1].score)
    );
    view! {
        <svg viewBox="-2 -2 104 24" class="h-6 w-32" role="img" aria-label=label data-test-sparkline="">
            <polyline points=path fill="none" stroke="#4f46e5" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
        </svg>
    }
    .into_any()
}

fn check_item(c: CheckOutcome, levels: &[String]) -> impl IntoView {
    let (mark, color) = match c.status.as_str() {
        "fail" => ("✗", "text-red-700"),
        _ => ("?", "text-slate-500"),
    };
    let level = levels.get(c.level as usize).cloned().unwrap_or_default();
    view! {
        <li class="text-sm" data-test-failing-check=c.id.clone() data-status=c.status.clone()>
            <span class=format!("mr-1 font-semibold {color}") aria-hidden="true">{mark}</span>
            <span class="font-medium">{c.title}</span>
            <span class="ml-1 text-xs text-slate-500">{format!("({level}, {})", c.status)}</span>
            ": " <span data-test-reason="">{c.reason}</span>
            {c.description.map(|d| view! { <span class="block text-xs text-slate-500">{d}</span> })}
        </li>
    }
}

fn component_card(c: ComponentCard) -> impl IntoView {
    let levels = c.card.levels.clone();
    let trend = c.trend.clone().map(|t| {
        let (arrow, word) = match t.direction.as_str() {
            "up" => ("↑", "up"),
            "down" => ("↓", "down"),
            _ => ("→", "flat"),
        };
        format!(
            "{arrow} {word} since {} ({:+} level{}, score {:+.0} points)",
            t.since,
            t.level_change,
            if t.level_change.abs() == 1 { "" } else { "s" },
            t.score_change * 100.0
        )
    });
    let not_passed: Vec<CheckOutcome> = c.checks.iter().filter(|k| k.status != "pass").cloned().collect();
    let passed = c.checks.len() - not_passed.len();
    view! {
        <div class="border-t border-slate-100 pt-3" data-test-component-card=c.card.name.clone()>
            <div class="flex flex-wrap items-center gap-2">
                <a class="font-medium text-indigo-700 hover:underline" href=href_with("/scorecards", &[])>{c.card.title.clone()}</a>
                <LevelBadge levels=levels.clone() level=c.score.level/>
                <span class="text-sm text-slate-600">{format!("score {}, {passed} of {} checks passed", percent(c.score.score), c.checks.len())}</span>
                {sparkline(&c.history)}
                <span class="text-xs text-slate-600" data-test-trend="">{trend.unwrap_or_else(|| format!("no trend yet ({TREND_DAYS}-day window)"))}</span>
            </div>
            {if not_passed.is_empty() {
                view! { <p class="mt-1 text-sm text-green-700">"Every check passes."</p> }.into_any()
            } else {
                view! { <ul class="mt-2 space-y-1">{not_passed.into_iter().map(|k| check_item(k, &levels)).collect_view()}</ul> }.into_any()
            }}
        </div>
    }
}

fn component_body(s: ComponentScorecards) -> AnyView {
    if !s.configured {
        return view! { <p class="mt-2 text-sm text-slate-500" data-test-scorecards-empty="">"No scorecards are configured (--scorecards)."</p> }.into_any();
    }
    if s.cards.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500" data-test-scorecards-empty="">"No scorecard applies to this component, or it has not been evaluated yet."</p> }.into_any();
    }
    view! { <div class="mt-2 space-y-3">{s.cards.into_iter().map(component_card).collect_view()}</div> }.into_any()
}

/// The component page's "Scorecards" section.
#[component]
pub fn ComponentScorecardsSection(
    scorecards: Resource<Result<Option<ComponentScorecards>, AppError>>,
) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="scorecards-heading" data-test="scorecards-section">
            <h2 id="scorecards-heading" class="font-semibold">"Scorecards"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { scorecards.await.map(|s| s.map(component_body)) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn team_body(list: ScorecardList) -> AnyView {
    let team = list.team.clone();
    let cards: Vec<CardSummary> = list.cards.into_iter().filter(|c| c.components > 0).collect();
    if cards.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500" data-test-scorecards-empty="">"No component of this team is evaluated against a scorecard."</p> }.into_any();
    }
    view! {
        <div class="mt-2 space-y-4">
            {cards.into_iter().map(|c| {
                let (name, title) = (c.card.name.clone(), c.card.title.clone());
                let text = format!("{} components, mean score {}", c.components, percent(c.mean_score));
                view! {
                    <div data-test-team-card=name>
                        <p class="text-sm"><span class="font-medium">{title}</span>
                            <span class="ml-2 text-slate-600">{text}</span></p>
                        <LevelBar s=c/>
                    </div>
                }
            }).collect_view()}
            <a class="text-sm text-indigo-700 hover:underline" href=href_with("/scorecards", &[("team", team)])>"Checks and lowest scores →"</a>
        </div>
    }
    .into_any()
}

/// The team page's scorecard roll-up.
#[component]
pub fn TeamScorecardsSection(scorecards: Resource<Result<Option<ScorecardList>, AppError>>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="team-scorecards-heading" data-test="team-scorecards-section">
            <h2 id="team-scorecards-heading" class="font-semibold">"Scorecards"</h2>
            <Transition fallback=Loading>
                <ErrorBoundary fallback=error_fallback>
                    {move || Suspend::new(async move { scorecards.await.map(|s| s.map(team_body)) })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}
