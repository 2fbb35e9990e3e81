//! Scorecards' rules: a pass of the worker ([`evaluate_all`]) and the reads of its results
//! (the roll-ups, one card's components, one component's cards with reasons and trend), each
//! checking that the caller may read the catalog.
//!
//! Results are read from one day, the latest evaluated: a pass writes every result of a day in
//! one transaction, so a read never sees half a pass.

use std::collections::{BTreeSet, HashMap};

mod views;

use bearing_scorecards::{evaluate, Scorecard};
use time::{Date, Duration, OffsetDateTime};

use self::views::{component_card, info, iso, score, summary};
use super::repo::{self, NewResult, ResultRow};
use super::{CardQuery, CardResults, ComponentScore, ComponentScorecards, Scope, ScorecardList, TREND_DAYS};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Days of history kept.
const KEEP_DAYS: i64 = 400;
/// Most components one page of a card lists.
pub const MAX_LIMIT: u64 = 500;
/// Components per page when the caller does not say.
pub const DEFAULT_LIMIT: u64 = 50;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluated {
    /// Another server held the lock: this one did nothing.
    pub skipped: bool,
    /// Components looked at.
    pub components: usize,
    /// Results (component × card) computed.
    pub results: usize,
    /// Rows written because a result is new today or changed.
    pub changed: u64,
}

/// One pass: gathers the facts of every component (a bounded number of queries, see
/// `facts`), evaluates every card that applies to each, and stores today's results.
///
/// Every component is evaluated on every pass: telling cheaply which inputs changed would take
/// change tracking across the catalog, the mesh poller and delivery ingestion, and evaluating
/// is pure and quick next to gathering. What is cheap is not writing: a row whose result is the
/// same as stored is left alone, and pages are told to re-render only when a row changed. One
/// server of a deployment runs a pass at a time (an advisory lock held for the pass).
pub async fn evaluate_all(ctx: &ServerCtx) -> Result<Evaluated, AppError> {
    let cards = ctx.scorecards.cards.clone();
    let mut tx = ctx.pool.begin().await?;
    if !repo::try_lock_pass(&mut *tx).await? {
        return Ok(Evaluated {
            skipped: true,
            ..Evaluated::default()
        });
    }
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let gathered = super::facts::gather(ctx, now).await?;
    let mut results = Vec::new();
    for g in &gathered {
        for card in cards.iter().filter(|c| c.applies_to(&g.facts)) {
            let result = evaluate(card, &g.facts, now);
            results.push(NewResult {
                component: g.component.entity_ref.clone(),
                card: card.name.clone(),
                level: result.level.map(|l| l as i32),
                score: result.score as f32,
                checks: serde_json::to_string(&result.checks).map_err(|e| {
                    tracing::error!(error = %e, "cannot serialise scorecard checks");
                    AppError::Internal
                })?,
            });
        }
    }
    let mut changed = repo::upsert_results(&mut *tx, today, now, &results).await?;
    changed += repo::delete_others(&mut *tx, today, &results).await?;
    repo::delete_before(&mut *tx, today - Duration::days(KEEP_DAYS)).await?;
    if changed > 0 {
        crate::cache::notify(&mut *tx, repo::CHANGED_CHANNEL).await?;
    }
    tx.commit().await?;
    Ok(Evaluated {
        skipped: false,
        components: gathered.len(),
        results: results.len(),
        changed,
    })
}

/// Every card with its roll-up over the components in `scope`.
pub async fn list(ctx: &ServerCtx, caller: &Caller, scope: &Scope) -> Result<ScorecardList, AppError> {
    caller.require_reader(ctx)?;
    let (team, system) = normalise(scope)?;
    let day = repo::latest_day(&ctx.pool).await?;
    let rows = match day {
        Some(day) => repo::results_of_day(&ctx.pool, day).await?,
        None => Vec::new(),
    };
    let teams: BTreeSet<String> = rows.iter().filter_map(|r| r.owner_ref.clone()).collect();
    let systems: BTreeSet<String> = rows.iter().filter_map(|r| r.system_ref.clone()).collect();
    let in_scope: Vec<&ResultRow> = rows.iter().filter(|r| matches(r, &team, &system)).collect();
    let cards = ctx
        .scorecards
        .cards
        .iter()
        .map(|card| summary(card, in_scope.iter().copied().filter(|r| r.card == card.name)))
        .collect();
    Ok(ScorecardList {
        team,
        system,
        day: day.map(iso),
        cards,
        teams: teams.into_iter().collect(),
        systems: systems.into_iter().collect(),
    })
}

/// One page of the components evaluated against `card`, sorted as asked (worst first by
/// default).
pub async fn card_results(
    ctx: &ServerCtx,
    caller: &Caller,
    card: &str,
    query: &CardQuery,
) -> Result<CardResults, AppError> {
    caller.require_reader(ctx)?;
    let found = find_card(ctx, card)?;
    let (team, system) = normalise(&query.scope)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}, got {limit}"),
        ));
    }
    let descending = match query.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(AppError::invalid(
                "order",
                format!("must be asc or desc, got {:?}", clip(other)),
            ))
        }
    };
    let day = repo::latest_day(&ctx.pool).await?;
    let rows = match day {
        Some(day) => repo::results_of_day(&ctx.pool, day).await?,
        None => Vec::new(),
    };
    let mut items: Vec<ComponentScore> = rows
        .iter()
        .filter(|r| r.card == found.name && matches(r, &team, &system))
        .map(|r| score(found, r))
        .collect();
    let rank = |s: &ComponentScore| s.level.map_or(0, |l| i64::from(l) + 1);
    match query.sort.as_deref().unwrap_or("score") {
        "score" => items.sort_by(|a, b| a.score.total_cmp(&b.score).then(rank(a).cmp(&rank(b)))),
        "level" => items.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.score.total_cmp(&b.score))),
        "component" => {}
        other => {
            return Err(AppError::invalid(
                "sort",
                format!("must be score, level or component, got {:?}", clip(other)),
            ))
        }
    }
    // Ties (and `component`) stay by component: the rows come sorted by it, and sorts are stable.
    if descending {
        items.reverse();
    }
    let total = items.len() as u64;
    let offset = query.offset.unwrap_or(0);
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let items: Vec<ComponentScore> = items.into_iter().skip(start).take(limit as usize).collect();
    Ok(CardResults {
        card: info(found),
        day: day.map(iso),
        items,
        total,
        next_offset: (offset.saturating_add(limit) < total).then(|| offset + limit),
    })
}

/// A component's latest results on every card that applies to it, with every check's reason,
/// the daily history of the last [`TREND_DAYS`] days and its trend.
pub async fn component(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<ComponentScorecards, AppError> {
    caller.require_reader(ctx)?;
    let key = crate::catalog::service::ref_key(kind, namespace, name)?;
    if !key.starts_with("component:") {
        return Err(AppError::invalid("kind", "scorecards apply to components only"));
    }
    if !repo::component_exists(&ctx.pool, &key).await? {
        return Err(AppError::NotFound(format!("component `{namespace}/{name}`")));
    }
    let latest = repo::latest_of_component(&ctx.pool, &key).await?;
    let day = latest.first().map(|(d, _)| *d);
    let since = day.unwrap_or_else(|| OffsetDateTime::now_utc().date()) - Duration::days(i64::from(TREND_DAYS));
    let mut history: HashMap<String, Vec<(Date, Option<usize>, f64)>> = HashMap::new();
    for (card, day, level, score) in repo::history(&ctx.pool, &key, since).await? {
        history
            .entry(card)
            .or_default()
            .push((day, level.map(|l| l as usize), f64::from(score)));
    }
    let cards = latest
        .iter()
        .filter_map(|(day, row)| {
            let card = ctx.scorecards.cards.iter().find(|c| c.name == row.card)?;
            let days = history.remove(&row.card).unwrap_or_default();
            Some(component_card(card, row, *day, &days))
        })
        .collect();
    Ok(ComponentScorecards {
        component: key,
        configured: !ctx.scorecards.cards.is_empty(),
        day: day.map(iso),
        cards,
    })
}

fn find_card<'a>(ctx: &'a ServerCtx, name: &str) -> Result<&'a Scorecard, AppError> {
    ctx.scorecards.cards.iter().find(|c| c.name == name).ok_or_else(|| {
        let known: Vec<&str> = ctx.scorecards.cards.iter().map(|c| c.name.as_str()).collect();
        AppError::NotFound(if known.is_empty() {
            format!(
                "scorecard `{}` (the server has no scorecards; see --scorecards)",
                clip(name)
            )
        } else {
            format!("scorecard `{}` (there are: {})", clip(name), known.join(", "))
        })
    })
}

/// `team=` and `system=` as reference keys (a name means the default namespace).
fn normalise(scope: &Scope) -> Result<(Option<String>, Option<String>), AppError> {
    let given = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let team = given(&scope.team)
        .map(|t| crate::policy::edges::team_ref(&t))
        .transpose()?;
    let system = given(&scope.system)
        .map(|s| {
            let full = if s.contains(':') {
                s
            } else {
                format!("system:default/{s}")
            };
            let (kind, rest) = full.split_once(':').unwrap_or(("system", &full));
            let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
            if !kind.eq_ignore_ascii_case("system") {
                return Err(AppError::invalid(
                    "system",
                    "must name a system, e.g. checkout or system:default/checkout",
                ));
            }
            crate::catalog::service::ref_key("system", namespace, name)
        })
        .transpose()?;
    Ok((team, system))
}

fn matches(row: &ResultRow, team: &Option<String>, system: &Option<String>) -> bool {
    team.as_ref().is_none_or(|t| row.owner_ref.as_ref() == Some(t))
        && system.as_ref().is_none_or(|s| row.system_ref.as_ref() == Some(s))
}

/// At most 40 characters of what a caller sent, for messages.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}
