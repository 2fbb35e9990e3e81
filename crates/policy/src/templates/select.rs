//! Which templates apply to a component, and the policies they produce for it.

use super::{DataplaneSelector, PolicyKind, Selector, Template};
use crate::names::{component_label, template_policy_name};
use crate::resource::{Proposal, COMPONENT_LABEL, TEMPLATE_LABEL};
use bearing_kuma::model::Tags;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Compass's tier annotation, as the catalog importer stores it.
pub const COMPASS_TIER_ANNOTATION: &str = "compass.atlassian.com/tier";

/// A component's tier: the Compass annotation, else the `tier` label.
pub fn tier_of<'a>(annotations: &'a BTreeMap<String, String>, labels: &'a BTreeMap<String, String>) -> Option<&'a str> {
    annotations
        .get(COMPASS_TIER_ANNOTATION)
        .or_else(|| labels.get("tier"))
        .map(String::as_str)
}

/// What templates are matched against, and where their policies go.
#[derive(Clone, Copy, Debug)]
pub struct ComponentMeta<'a> {
    /// The component's catalog reference.
    pub component: &'a str,
    /// The mesh of its Kuma service.
    pub mesh: &'a str,
    /// Its Kuma service.
    pub service: &'a str,
    /// How its dataplanes are selected (as for [`crate::generate`]).
    pub selector: &'a DataplaneSelector,
    /// `spec.type`.
    pub entity_type: Option<&'a str>,
    /// `spec.lifecycle`.
    pub lifecycle: Option<&'a str>,
    /// [`tier_of`] its annotations and labels.
    pub tier: Option<&'a str>,
    /// `metadata.tags`.
    pub tags: &'a [String],
    /// `spec.system`, as a reference (`system:default/checkout`) or a name.
    pub system: Option<&'a str>,
}

/// One template's policy for one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplatePolicy {
    /// The template's name.
    pub template: String,
    /// The policy kind.
    pub kind: PolicyKind,
    /// Named `bearing-<template>--<component token>` ([`crate::names::template_policy_name`]),
    /// labelled with the component, the template and the spec hash.
    pub proposal: Proposal,
}

/// The catalog fields a [`Selector`] looks at, without the mesh details of [`ComponentMeta`],
/// so that other rules (scorecards) select components exactly as templates do.
#[derive(Clone, Copy, Debug, Default)]
pub struct CatalogFields<'a> {
    /// `spec.type`.
    pub entity_type: Option<&'a str>,
    /// `spec.lifecycle`.
    pub lifecycle: Option<&'a str>,
    /// [`tier_of`] its annotations and labels.
    pub tier: Option<&'a str>,
    /// `metadata.tags`.
    pub tags: &'a [String],
    /// `spec.system`, as a reference (`system:default/checkout`) or a name.
    pub system: Option<&'a str>,
}

impl Selector {
    /// Whether the component matches (every field given must; a list means any of).
    pub fn matches(&self, have: &CatalogFields<'_>) -> bool {
        let field = |wanted: &[String], have: Option<&str>| {
            wanted.is_empty() || have.is_some_and(|h| wanted.iter().any(|w| w.eq_ignore_ascii_case(h.trim())))
        };
        let tags = self.tags.is_empty()
            || self
                .tags
                .iter()
                .any(|w| have.tags.iter().any(|t| t.eq_ignore_ascii_case(w)));
        let system =
            self.systems.is_empty() || have.system.is_some_and(|s| self.systems.iter().any(|w| same_ref(w, s)));
        field(&self.types, have.entity_type)
            && field(&self.lifecycles, have.lifecycle)
            && field(&self.tiers, have.tier)
            && tags
            && system
    }
}

/// Whether `selector` matches the component (see [`Selector::matches`]).
pub fn matches(selector: &Selector, meta: &ComponentMeta<'_>) -> bool {
    selector.matches(&CatalogFields {
        entity_type: meta.entity_type,
        lifecycle: meta.lifecycle,
        tier: meta.tier,
        tags: meta.tags,
        system: meta.system,
    })
}

/// `checkout` matches `system:default/checkout`; a full reference must match in full (the
/// kind and the default namespace may be left out on either side).
fn same_ref(wanted: &str, have: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("system:").map(str::to_string).unwrap_or(s);
        s.strip_prefix("default/").map(str::to_string).unwrap_or(s)
    };
    norm(wanted) == norm(have)
}

/// The policies of every template in `templates` whose selector matches `meta`, in template
/// order. The spec gets the top-level `targetRef` of `meta.selector` first.
pub fn for_component(templates: &[Template], meta: &ComponentMeta<'_>) -> Vec<TemplatePolicy> {
    let target_ref = serde_json::to_value(meta.selector.target_ref(meta.service)).unwrap_or(Value::Null);
    templates
        .iter()
        .filter(|t| matches(&t.selector, meta))
        .map(|t| {
            let mut spec = serde_json::Map::new();
            spec.insert("targetRef".into(), target_ref.clone());
            if let Value::Object(body) = &t.spec {
                for (k, v) in body {
                    spec.insert(k.clone(), v.clone());
                }
            }
            let mut labels = Tags::new();
            labels.insert(COMPONENT_LABEL.to_string(), component_label(meta.component));
            labels.insert(TEMPLATE_LABEL.to_string(), t.name.clone());
            let name = template_policy_name(&t.name, meta.component);
            TemplatePolicy {
                template: t.name.clone(),
                kind: t.kind,
                proposal: Proposal::new(t.kind.as_str(), meta.mesh, name, labels, Value::Object(spec)),
            }
        })
        .collect()
}
