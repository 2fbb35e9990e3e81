//! Each rule's verdict and reason.

use super::{DeliveryFacts, Facts, MeshFacts, Status, CHANGE_FAILURE_WINDOW_DAYS};
use crate::card::Rule;
use bearing_policy::edges::EdgeClass;
use time::{Duration, OffsetDateTime};

const NO_MESH: &str = "no mesh data for this component";
const NO_DELIVERY: &str = "no delivery data for this component";

fn verdict(pass: bool, yes: String, no: String) -> (Status, String) {
    if pass {
        (Status::Pass, yes)
    } else {
        (Status::Fail, no)
    }
}

fn present(value: Option<&String>) -> Option<&str> {
    value.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `rule`'s status for `facts` as of `now`, and why.
pub(super) fn judge(rule: &Rule, facts: &Facts, now: OffsetDateTime) -> (Status, String) {
    match rule {
        Rule::HasOwner => match present(facts.owner.as_ref()) {
            Some(owner) => (Status::Pass, format!("owned by {owner}")),
            None => (Status::Fail, "no owner".into()),
        },
        Rule::HasDescription => verdict(
            present(facts.description.as_ref()).is_some(),
            "has a description".into(),
            "no description".into(),
        ),
        Rule::HasLink { link_type } => verdict(
            facts
                .link_types
                .iter()
                .any(|t| t.trim().eq_ignore_ascii_case(link_type)),
            format!("has a {link_type} link"),
            format!("no {link_type} link"),
        ),
        Rule::LifecycleIn(wanted) => match present(facts.lifecycle.as_ref()) {
            None => (Status::Fail, "no lifecycle".into()),
            Some(have) => verdict(
                wanted.iter().any(|w| w.eq_ignore_ascii_case(have)),
                format!("lifecycle is {have}"),
                format!("lifecycle is {have}, not {}", wanted.join(" or ")),
            ),
        },
        Rule::HasAnnotation(key) => verdict(
            present(facts.annotations.get(key)).is_some(),
            format!("annotation {key} is set"),
            format!("no {key} annotation"),
        ),
        Rule::HasTag(tag) => verdict(
            facts.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
            format!("tagged {tag}"),
            format!("not tagged {tag}"),
        ),
        Rule::MtlsEnabled => with_mesh(facts, |m| {
            verdict(m.mtls_enabled, "mTLS is on".into(), "mTLS is off".into())
        }),
        Rule::NoEdgesOfClass(classes) => with_mesh(facts, |m| no_edges_of_class(classes, m)),
        Rule::CertificatesValidForDays(days) => with_mesh(facts, |m| certificates_valid_for(*days, m, now)),
        Rule::DeployedWithinDays(days) => with_delivery(facts, |d| deployed_within(*days, d, now)),
        Rule::ChangeFailureRateBelow(max) => with_delivery(facts, |d| change_failure_rate_below(*max, d, now)),
        Rule::LastRunSucceeded => with_delivery(facts, |d| match d.last_run {
            None => (Status::Fail, "no pipeline run recorded".into()),
            Some(run) => verdict(
                run.succeeded,
                format!("last run on {} succeeded", run.finished_at.date()),
                format!("last run on {} failed", run.finished_at.date()),
            ),
        }),
    }
}

fn with_mesh(facts: &Facts, judge: impl FnOnce(&MeshFacts) -> (Status, String)) -> (Status, String) {
    match &facts.mesh {
        None => (Status::Unknown, NO_MESH.into()),
        Some(mesh) => judge(mesh),
    }
}

fn with_delivery(facts: &Facts, judge: impl FnOnce(&DeliveryFacts) -> (Status, String)) -> (Status, String) {
    match &facts.delivery {
        None => (Status::Unknown, NO_DELIVERY.into()),
        Some(delivery) => judge(delivery),
    }
}

fn no_edges_of_class(classes: &[EdgeClass], mesh: &MeshFacts) -> (Status, String) {
    let found: Vec<String> = classes
        .iter()
        .filter_map(|class| {
            let n = mesh.edges.get(class).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {} edge{}", class.as_str(), if n == 1 { "" } else { "s" }))
        })
        .collect();
    let names: Vec<&str> = classes.iter().map(|c| c.as_str()).collect();
    verdict(
        found.is_empty(),
        format!("no {} edges", names.join(" or ")),
        found.join(", "),
    )
}

fn certificates_valid_for(days: u32, mesh: &MeshFacts, now: OffsetDateTime) -> (Status, String) {
    if !mesh.mtls_enabled {
        return (Status::Fail, "no certificates: mTLS is off".into());
    }
    let Some(expires) = mesh.certificates_expire_at else {
        return (Status::Unknown, "no certificate expiry reported".into());
    };
    let left = expires - now;
    if left <= Duration::ZERO {
        return (Status::Fail, format!("certificate expired on {}", expires.date()));
    }
    let text = match left.whole_days() {
        0 => "less than a day".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    };
    verdict(
        left >= Duration::days(i64::from(days)),
        format!("certificates valid for {text} more"),
        format!("certificate expires in {text}"),
    )
}

fn deployed_within(days: u32, delivery: &DeliveryFacts, now: OffsetDateTime) -> (Status, String) {
    let last = delivery
        .deployments
        .iter()
        .map(|d| d.at)
        .chain(delivery.last_deployed_at)
        .filter(|at| *at <= now)
        .max();
    match last {
        None => (Status::Fail, "never deployed".into()),
        Some(at) => verdict(
            now - at <= Duration::days(i64::from(days)),
            format!("last deployed on {}", at.date()),
            format!("no deployment since {}", at.date()),
        ),
    }
}

fn change_failure_rate_below(max: f64, delivery: &DeliveryFacts, now: OffsetDateTime) -> (Status, String) {
    let since = now - Duration::days(CHANGE_FAILURE_WINDOW_DAYS);
    let window = || delivery.deployments.iter().filter(|d| d.at > since && d.at <= now);
    let total = window().count();
    let failed = window().filter(|d| d.failed).count();
    if total == 0 {
        return (
            Status::Fail,
            format!("no deployments in the last {CHANGE_FAILURE_WINDOW_DAYS} days"),
        );
    }
    let rate = failed as f64 / total as f64;
    let what = format!(
        "{failed} of {total} deployments in the last {CHANGE_FAILURE_WINDOW_DAYS} days failed ({})",
        percent(rate)
    );
    verdict(
        rate < max,
        format!("{what}, below {}", percent(max)),
        format!("{what}, not below {}", percent(max)),
    )
}

/// `0.15` as `15%`, `0.125` as `12.5%`.
fn percent(fraction: f64) -> String {
    let tenths = (fraction * 1000.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}%")
    } else {
        format!("{tenths:.1}%")
    }
}
