//! Reading the one rule of a check.

use super::doc::{child, display, Doc};
use super::parse::CHECK_FIELDS;
use super::Rule;
use crate::Error;
use bearing_policy::edges::EdgeClass;
use serde_json::{Map, Value};

/// Every rule key, in the order the module docs list them.
pub(super) const RULE_KEYS: [&str; 12] = [
    "has_owner",
    "has_description",
    "has_link",
    "lifecycle_in",
    "has_annotation",
    "has_tag",
    "mtls_enabled",
    "no_edges_of_class",
    "certificates_valid_for_days",
    "deployed_within_days",
    "change_failure_rate_below",
    "last_run_succeeded",
];

/// Longest certificate horizon: a year is already more than any mesh CA issues for.
const MAX_CERT_DAYS: u64 = 365;
/// Longest deployment horizon: ten years.
const MAX_DEPLOY_DAYS: u64 = 3650;

/// Refuses any field of the check mapping `map` at `pointer` that is neither one of the
/// [`CHECK_FIELDS`] nor a rule.
pub(super) fn known_check_fields(doc: &Doc<'_>, map: &Map<String, Value>, pointer: &str) -> Result<(), Error> {
    if let Some(unknown) = map
        .keys()
        .find(|k| !CHECK_FIELDS.contains(&k.as_str()) && !RULE_KEYS.contains(&k.as_str()))
    {
        let at = child(pointer, unknown);
        return Err(doc.fail_key(
            &at,
            format!(
                "unknown field `{}`; a check has {} and one rule of: {}",
                display(&at),
                CHECK_FIELDS.join(", "),
                RULE_KEYS.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The rule of the check mapping `map` at `pointer`: exactly one of [`RULE_KEYS`].
pub(super) fn parse_rule(doc: &Doc<'_>, map: &Map<String, Value>, pointer: &str) -> Result<Rule, Error> {
    let mut rules = map.iter().filter(|(k, _)| RULE_KEYS.contains(&k.as_str()));
    let Some((key, value)) = rules.next() else {
        return Err(doc.fail_value(
            pointer,
            format!(
                "check `{}` has no rule; add one of: {}",
                display(pointer),
                RULE_KEYS.join(", ")
            ),
        ));
    };
    if let Some((second, _)) = rules.next() {
        return Err(doc.fail_key(
            &child(pointer, second),
            format!(
                "check `{}` has both `{key}` and `{second}`; give each rule its own check",
                display(pointer)
            ),
        ));
    }
    let at = child(pointer, key);
    let r = Reader { doc, at: &at, key };
    Ok(match key.as_str() {
        "has_owner" => r.flag(value, Rule::HasOwner)?,
        "has_description" => r.flag(value, Rule::HasDescription)?,
        "mtls_enabled" => r.flag(value, Rule::MtlsEnabled)?,
        "last_run_succeeded" => r.flag(value, Rule::LastRunSucceeded)?,
        "has_link" => {
            let link = doc.object(
                value,
                &at,
                "a mapping with the link's `type`, e.g. `has_link: {type: runbook}`",
            )?;
            doc.known_fields(link, &at, &["type"])?;
            let link_type = doc
                .text(link, &at, "type", "`has_link: {type: runbook}`")?
                .unwrap_or_default();
            Rule::HasLink { link_type }
        }
        "lifecycle_in" => Rule::LifecycleIn(r.texts(value, "`lifecycle_in: [production]`")?),
        "has_annotation" => Rule::HasAnnotation(r.text(value, "`has_annotation: pagerduty.com/service-id`")?),
        "has_tag" => Rule::HasTag(r.text(value, "`has_tag: pci`")?),
        "no_edges_of_class" => {
            let names = r.texts(value, "`no_edges_of_class: [declared_denied, will_break]`")?;
            let classes = names
                .iter()
                .map(|name| {
                    EdgeClass::ALL.into_iter().find(|c| c.as_str() == name).ok_or_else(|| {
                        let known: Vec<&str> = EdgeClass::ALL.iter().map(|c| c.as_str()).collect();
                        doc.fail_value(
                            &at,
                            format!("`{name}` is not an edge class; use any of: {}", known.join(", ")),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Rule::NoEdgesOfClass(classes)
        }
        "certificates_valid_for_days" => Rule::CertificatesValidForDays(r.days(value, MAX_CERT_DAYS)?),
        "deployed_within_days" => Rule::DeployedWithinDays(r.days(value, MAX_DEPLOY_DAYS)?),
        "change_failure_rate_below" => Rule::ChangeFailureRateBelow(r.fraction(value)?),
        _ => unreachable!("every key of RULE_KEYS has an arm"),
    })
}

/// Reads the value of rule `key` at pointer `at`.
struct Reader<'a> {
    doc: &'a Doc<'a>,
    at: &'a str,
    key: &'a str,
}

impl Reader<'_> {
    fn fail(&self, message: impl Into<String>) -> Error {
        self.doc.fail_value(self.at, message)
    }

    fn flag(&self, value: &Value, rule: Rule) -> Result<Rule, Error> {
        match value {
            Value::Bool(true) => Ok(rule),
            Value::Bool(false) => Err(self.fail(format!(
                "`{}: false` checks nothing; remove the check instead",
                self.key
            ))),
            _ => Err(self.fail(format!("`{}` takes `true`, e.g. `{}: true`", self.key, self.key))),
        }
    }

    fn text(&self, value: &Value, example: &str) -> Result<String, Error> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(self.fail(format!("`{}` must be a non-blank value, e.g. {example}", self.key))),
        }
    }

    /// A value or a non-empty list of values.
    fn texts(&self, value: &Value, example: &str) -> Result<Vec<String>, Error> {
        let bad = || {
            self.fail(format!(
                "`{}` must be a value or a non-empty list of values, e.g. {example}",
                self.key
            ))
        };
        match value {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    _ => Err(bad()),
                })
                .collect(),
            Value::String(s) if !s.trim().is_empty() => Ok(vec![s.trim().to_string()]),
            _ => Err(bad()),
        }
    }

    /// A whole number of days from 1 to `max`.
    fn days(&self, value: &Value, max: u64) -> Result<u32, Error> {
        match value.as_u64() {
            Some(days @ 1..) if days <= max => Ok(u32::try_from(days).unwrap_or(u32::MAX)),
            _ => Err(self.fail(format!(
                "`{}: {value}` must be a whole number of days from 1 to {max}",
                self.key
            ))),
        }
    }

    /// A fraction above 0 and at most 1.
    fn fraction(&self, value: &Value) -> Result<f64, Error> {
        match value.as_f64() {
            Some(rate) if rate > 0.0 && rate <= 1.0 => Ok(rate),
            Some(rate) if rate > 1.0 && rate <= 100.0 => Err(self.fail(format!(
                "`{}: {value}` must be a fraction above 0 and at most 1; for {rate}% write {}",
                self.key,
                rate / 100.0
            ))),
            _ => Err(self.fail(format!(
                "`{}: {value}` must be a fraction above 0 and at most 1, e.g. 0.15 for 15%",
                self.key
            ))),
        }
    }
}
