//! Which catalog component an event reports on, and whether its producer may report it.
//!
//! Mapping (issue 13 §3): a component claims OpenLineage jobs with the annotation
//! `openlineage.io/job: <namespace>/<name>` (or just `<name>`; several separated by commas, for
//! a pipeline whose tasks report as jobs of their own), and CDEvents services with
//! `cdevents.dev/service: <subject id>`; failing that, the component with the job's or
//! service's name (the default namespace first). Nothing found: the event is kept unmapped and
//! listed for admins, never dropped.
//!
//! Binding (§2): a producer may report a component when its token is scoped to the component or
//! its team, and the component or its team names the producer, in the annotation
//! `bearing.dev/producers` (comma- or space-separated; a bare name is a token's name,
//! `client:<id>` a client-credentials producer) or bound in Bearing by a lead.

use std::collections::HashMap;

use sqlx::PgPool;

use super::repo;
use crate::auth::CurrentUser;

/// The annotation naming the producers allowed to report a component (or a team's components).
pub const PRODUCERS_ANNOTATION: &str = "bearing.dev/producers";

/// What an event names, to be mapped to a component.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An OpenLineage job (or CDEvents pipeline/task run): namespace and name.
    Job { namespace: String, name: String },
    /// A CDEvents service subject id (`service/checkout`, `checkout`).
    Service(String),
}

impl Subject {
    /// The name a component of the same name would have.
    fn name(&self) -> String {
        match self {
            Subject::Job { name, .. } => name.to_ascii_lowercase(),
            Subject::Service(id) => id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase(),
        }
    }
}

/// Maps the subjects of one request to components, with two queries per kind whatever their
/// number.
pub async fn components(pool: &PgPool, subjects: &[Subject]) -> sqlx::Result<HashMap<Subject, String>> {
    let mut out = HashMap::new();
    let mut by_job: Vec<String> = Vec::new();
    let mut by_service: Vec<String> = Vec::new();
    for s in subjects {
        match s {
            Subject::Job { namespace, name } => {
                by_job.push(format!("{namespace}/{name}"));
                by_job.push(name.clone());
            }
            Subject::Service(id) => by_service.push(id.clone()),
        }
    }
    let jobs: HashMap<String, String> = if by_job.is_empty() {
        HashMap::new()
    } else {
        repo::components_by_annotation(pool, repo::Claim::Job, &by_job)
            .await?
            .into_iter()
            .collect()
    };
    let services: HashMap<String, String> = if by_service.is_empty() {
        HashMap::new()
    } else {
        repo::components_by_annotation(pool, repo::Claim::Service, &by_service)
            .await?
            .into_iter()
            .collect()
    };
    let mut unclaimed = Vec::new();
    for s in subjects {
        let claimed = match s {
            Subject::Job { namespace, name } => jobs.get(&format!("{namespace}/{name}")).or_else(|| jobs.get(name)),
            Subject::Service(id) => services.get(id),
        };
        match claimed {
            Some(component) => {
                out.insert(s.clone(), component.clone());
            }
            None => unclaimed.push(s),
        }
    }
    if !unclaimed.is_empty() {
        let names: Vec<String> = unclaimed.iter().map(|s| s.name()).collect();
        let mut by_name: HashMap<String, String> = HashMap::new();
        for (name, component) in repo::components_by_name(pool, &names).await? {
            // Ordered default namespace first: keep the first of each name.
            by_name.entry(name).or_insert(component);
        }
        for s in unclaimed {
            if let Some(component) = by_name.get(&s.name()) {
                out.insert(s.clone(), component.clone());
            }
        }
    }
    Ok(out)
}

/// Why a producer may not report a component, or `None` when it may.
pub async fn refusal(pool: &PgPool, producer: &CurrentUser, component: &str) -> sqlx::Result<Option<String>> {
    let identity = producer.actor();
    let Some(binding) = repo::binding(pool, component, &identity).await? else {
        return Ok(Some(format!("{component} is not in the catalog")));
    };
    let in_scope = producer
        .scopes
        .iter()
        .any(|s| s == component || binding.owner.as_deref() == Some(s.as_str()));
    if !in_scope {
        return Ok(Some(format!(
            "{identity} is scoped to {} and may not report {component}; an admin can create a token scoped to it or its team",
            producer.scopes.join(", ")
        )));
    }
    let named = [&binding.component_list, &binding.team_list]
        .into_iter()
        .flatten()
        .any(|list| names(list, &identity));
    if named || binding.bound_in_bearing {
        return Ok(None);
    }
    Ok(Some(format!(
        "{component} does not name {identity} as a producer; add it to the component's (or its team's) \
         `{PRODUCERS_ANNOTATION}` annotation, or have its lead bind it in Bearing"
    )))
}

/// Whether the annotation value `list` names `identity` (`token:<name>` or `client:<id>`).
fn names(list: &str, identity: &str) -> bool {
    list.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .any(|n| n == identity || (!n.contains(':') && identity.strip_prefix("token:") == Some(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_annotation_names_tokens_by_bare_name_and_clients_by_prefix() {
        assert!(names("ci-payments, luigi-nightly", "token:luigi-nightly"));
        assert!(names("client:luigi-prod", "client:luigi-prod"));
        assert!(!names("luigi-prod", "client:luigi-prod"), "a bare name is a token's");
        assert!(!names("luigi", "token:luigi-nightly"), "whole names only");
        assert!(!names("", "token:x"));
    }

    #[test]
    fn a_service_subject_maps_by_its_last_segment() {
        assert_eq!(Subject::Service("service/Checkout".into()).name(), "checkout");
        assert_eq!(
            Subject::Job {
                namespace: "luigi".into(),
                name: "Transform".into()
            }
            .name(),
            "transform"
        );
    }
}
