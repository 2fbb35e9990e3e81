//! Dataplane labels as Bearing keeps them: bounded, because a control plane's answers are not
//! trusted to be sane.
//!
//! Labels feed `Dataplane` targetRef selectors and ownership drift, so a label is either kept as
//! served or dropped, never truncated: a shortened value would select other dataplanes than Kuma
//! does. Dropped are labels Kuma's API server would refuse (`bearing_kuma::checks::label_ok`:
//! Kubernetes' qualified names of at most 63 characters after a DNS-subdomain prefix of at most
//! 253, values of at most 63), which a faithful control plane never serves, and every label after
//! the first [`MAX_LABELS`] by key. Kubernetes sets no count limit, but real dataplanes carry a
//! dozen or so; 64 keeps a hostile answer at about 20 kB per proxy.

use bearing_kuma::checks;
use bearing_kuma::model::Tags;

/// Labels kept per proxy at most.
pub const MAX_LABELS: usize = 64;

/// What [`bounded`] dropped over a poll, for one warning per poll rather than one per proxy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DroppedLabels {
    /// Proxies that lost some labels.
    pub proxies: u64,
    /// Labels Kuma's API would refuse.
    pub invalid: u64,
    /// Valid labels beyond [`MAX_LABELS`].
    pub over_limit: u64,
    /// The first proxy that lost labels, for the warning.
    pub first_proxy: Option<String>,
}

impl DroppedLabels {
    /// Adds another digest's counts.
    pub fn merge(&mut self, other: &DroppedLabels) {
        self.proxies += other.proxies;
        self.invalid += other.invalid;
        self.over_limit += other.over_limit;
        if self.first_proxy.is_none() {
            self.first_proxy.clone_from(&other.first_proxy);
        }
    }

    /// Whether anything was dropped.
    pub fn any(&self) -> bool {
        self.proxies > 0
    }
}

/// The labels of proxy `name` Bearing stores: the valid ones, at most [`MAX_LABELS`] in key
/// order; what was dropped is counted in `dropped`.
pub fn bounded(labels: &Tags, name: &str, dropped: &mut DroppedLabels) -> Tags {
    let mut out = Tags::new();
    let (mut invalid, mut over) = (0, 0);
    for (k, v) in labels {
        if !checks::label_ok(k, v) {
            invalid += 1;
        } else if out.len() >= MAX_LABELS {
            over += 1;
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    if invalid + over > 0 {
        dropped.proxies += 1;
        dropped.invalid += invalid;
        dropped.over_limit += over;
        if dropped.first_proxy.is_none() {
            dropped.first_proxy = Some(name.chars().take(200).collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_labels_are_kept_as_served() {
        let labels: Tags = [
            ("app", "web"),
            ("k8s.kuma.io/namespace", "shop"),
            ("kuma.io/zone", "eu-1"),
            ("team", "team-checkout"),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut dropped = DroppedLabels::default();
        assert_eq!(bounded(&labels, "web-1", &mut dropped), labels);
        assert!(!dropped.any());
    }

    #[test]
    fn invalid_and_excess_labels_are_dropped_not_truncated() {
        let mut labels: Tags = (0..100).map(|i| (format!("k{i:03}"), format!("v{i}"))).collect();
        labels.insert("long".into(), "x".repeat(64));
        labels.insert(format!("{}/name", "a".repeat(254)), "v".into());
        labels.insert("n".repeat(64), "v".into());
        labels.insert("bad key".into(), "v".into());
        let mut dropped = DroppedLabels::default();
        let kept = bounded(&labels, "web-1", &mut dropped);
        assert_eq!(kept.len(), MAX_LABELS);
        assert!(kept.keys().all(|k| k.starts_with('k')), "{kept:?}");
        assert_eq!(kept.get("k000").map(String::as_str), Some("v0"));
        assert_eq!(
            dropped,
            DroppedLabels {
                proxies: 1,
                invalid: 4,
                over_limit: 36,
                first_proxy: Some("web-1".into())
            }
        );
        // A longest valid key and value are kept.
        let edge: Tags = [(format!("{}/{}", "a".repeat(253), "n".repeat(63)), "v".repeat(63))]
            .into_iter()
            .collect();
        assert_eq!(bounded(&edge, "x", &mut DroppedLabels::default()), edge);
    }
}
