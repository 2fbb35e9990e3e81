//! Resource names and label values for generated policies.
//!
//! A generated policy is found again by its name (the server replaces "the policy of that
//! name"), so two different components must never get the same name, and every name must be one
//! Kuma and Kubernetes accept:
//!
//! - Kuma's universal store accepts `^[0-9a-z.\-_]*$` (`NameCharacterSet`,
//!   `pkg/core/resources/apis/mesh/validators.go` at v2.14.3); Kubernetes wants a DNS-1123
//!   subdomain (≤ 253); and Kuma's Kubernetes store copies the object name into the
//!   `kuma.io/display-name` label (`pkg/plugins/resources/k8s/store.go`), whose values Kubernetes
//!   caps at 63 characters. So names here are DNS-1123 labels: `[a-z0-9-]`, alphanumeric at both
//!   ends, at most [`MAX_NAME_LEN`] = 63.
//! - Label values: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
//!
//! A component is named by its **token**. Components are compared like Bearing's catalog keys
//! (`EntityRef::key`: ASCII case-insensitive, kind `component` and namespace `default` when left
//! out, so `Payments`, `default/payments` and `component:default/payments` are one component).
//!
//! - A component in namespace `default` whose name is already a DNS label
//!   (`^[a-z0-9]+(-[a-z0-9]+)*$`, single dashes) and fits is its own token: `payments`.
//! - Anything else (another namespace, dots, underscores, upper case beyond ASCII, unicode, too
//!   long) becomes `<slug>--<hash>`: the key reduced to `[a-z0-9-]` with single dashes, cut to
//!   fit, then `--` and 12 hex digits of SHA-256 of the key.
//!
//! Clean tokens never contain `--` and hashed ones always do, so the two kinds never collide;
//! two hashed tokens are equal only if 48 bits of SHA-256 of two different keys are (and their
//! slugs too). Template policies are `bearing-<template>--<token>`: template names are DNS labels
//! with single dashes, so the first `--` always ends the template name and different
//! (template, component) pairs never share a name.

use crate::canonical::short_hash;

/// Longest name Bearing generates (see the module docs for why 63 and not 253).
pub const MAX_NAME_LEN: usize = 63;
/// Longest Kubernetes label value.
pub const MAX_LABEL_VALUE_LEN: usize = 63;
/// Longest template name, leaving room for a component token in `bearing-<template>--<token>`.
pub const MAX_TEMPLATE_NAME_LEN: usize = 24;
/// Prefix of every generated policy's name.
pub const NAME_PREFIX: &str = "bearing-";
/// Hex digits of the key's hash in a hashed token.
const TOKEN_HASH_LEN: usize = 12;

/// The catalog key of a component reference, as Bearing stores it: `component:<ns>/<name>`,
/// ASCII lower-case; a bare name or `ns/name` gets kind `component` and namespace `default`.
pub fn component_key(component_ref: &str) -> String {
    let lower = component_ref.trim().to_ascii_lowercase();
    let (kind, rest) = match lower.split_once(':') {
        Some((kind, rest)) => (kind.to_string(), rest.to_string()),
        None => ("component".to_string(), lower),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => ("default".to_string(), rest),
    };
    format!("{kind}:{namespace}/{name}")
}

/// A component's token of at most `max_len` characters (see the module docs), valid as a label
/// value and as part of a DNS label. `max_len` below 16 is raised to 16 (slug of one or two
/// characters, `--`, hash).
pub fn component_token(component_ref: &str, max_len: usize) -> String {
    let max_len = max_len.max(TOKEN_HASH_LEN + 4);
    let key = component_key(component_ref);
    if let Some(name) = key.strip_prefix("component:default/") {
        if name.len() <= max_len && is_dns_label_single_dash(name) {
            return name.to_string();
        }
    }
    let readable = key
        .strip_prefix("component:default/")
        .map(str::to_string)
        .unwrap_or_else(|| key.strip_prefix("component:").unwrap_or(&key).replace('/', "-"));
    let mut slug = slugify(&readable);
    slug.truncate(max_len - TOKEN_HASH_LEN - 2);
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "c" } else { slug };
    format!("{slug}--{}", short_hash(key.as_bytes(), TOKEN_HASH_LEN))
}

/// The name of the MeshTrafficPermission generated for a provider: `bearing-<token>`.
pub fn proposal_name(component_ref: &str) -> String {
    format!(
        "{NAME_PREFIX}{}",
        component_token(component_ref, MAX_NAME_LEN - NAME_PREFIX.len())
    )
}

/// The name of a template's policy for a component: `bearing-<template>--<token>`.
/// `template` must be a valid template name ([`is_valid_template_name`]).
pub fn template_policy_name(template: &str, component_ref: &str) -> String {
    let room = MAX_NAME_LEN.saturating_sub(NAME_PREFIX.len() + template.len() + 2);
    format!("{NAME_PREFIX}{template}--{}", component_token(component_ref, room))
}

/// The `bearing.dev/component` label value for a component: its token within 63 characters.
pub fn component_label(component_ref: &str) -> String {
    component_token(component_ref, MAX_LABEL_VALUE_LEN)
}

/// Whether `name` is a name Bearing may give a template: a DNS label with single dashes,
/// at most [`MAX_TEMPLATE_NAME_LEN`] characters.
pub fn is_valid_template_name(name: &str) -> bool {
    name.len() <= MAX_TEMPLATE_NAME_LEN && is_dns_label_single_dash(name)
}

/// Whether `name` is a DNS-1123 label (what Bearing requires of every generated name).
pub fn is_valid_resource_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether `value` is a valid Kubernetes label value (empty is valid).
pub fn is_valid_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= MAX_LABEL_VALUE_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric))
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`.
fn is_dns_label_single_dash(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Lower-case ASCII letters and digits kept, every other run of characters one `-`, no `-` at
/// either end.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(out.trim_end_matches('-').len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_names_stay_readable() {
        assert_eq!(proposal_name("component:default/payments"), "bearing-payments");
        assert_eq!(proposal_name("Payments"), "bearing-payments");
        assert_eq!(component_label("default/checkout-api"), "checkout-api");
    }

    #[test]
    fn odd_names_are_valid_and_distinct() {
        let refs = [
            "component:default/Payments.V2",
            "component:default/payments-v2",
            "component:default/payments_v2",
            "component:eu/payments",
            "component:default/eu-payments",
            "component:default/caf\u{e9}",
            "component:default/\u{1f600}",
            "component:default/a--b",
            &format!("component:default/{}", "x".repeat(300)),
            &format!("component:default/{}", "y".repeat(55)),
            &format!("component:default/{}", "y".repeat(56)),
        ];
        let mut seen = std::collections::HashSet::new();
        for r in refs {
            let name = proposal_name(r);
            assert!(is_valid_resource_name(&name), "{r} -> {name}");
            let label = component_label(r);
            assert!(is_valid_label_value(&label), "{r} -> {label}");
            for template in ["t", "timeouts-by-tier", &"z".repeat(MAX_TEMPLATE_NAME_LEN)] {
                let t = template_policy_name(template, r);
                assert!(is_valid_resource_name(&t), "{template} {r} -> {t}");
            }
            assert!(seen.insert(name), "collision for {r}");
        }
    }

    #[test]
    fn template_names_do_not_collide_across_dashes() {
        assert_ne!(template_policy_name("a-b", "c"), template_policy_name("a", "b-c"));
    }
}
