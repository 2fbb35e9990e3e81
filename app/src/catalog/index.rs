//! What is stored beside each entity for Backstage-compatible reads: its etag and its search
//! rows. Computed the same way by an import and by an edit made in Bearing, which both write them.

use sha2::{Digest, Sha256};

/// Content hash of what is stored for an entity: body plus resolved relations.
pub fn etag(body: &serde_json::Value, relations: &[(String, String, String)]) -> String {
    let mut h = Sha256::new();
    h.update(body.to_string().as_bytes());
    for (s, t, d) in relations {
        h.update([0]);
        h.update(s.as_bytes());
        h.update(t.as_bytes());
        h.update(d.as_bytes());
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Flattens an entity into Backstage-style search rows: `(key, value lower-cased, original)`.
/// Values longer than 200 characters are skipped, as Backstage does.
pub fn search_rows(body: &serde_json::Value, relations: &[(String, String, String)]) -> Vec<(String, String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.to_ascii_lowercase()
                    } else {
                        format!("{prefix}.{}", k.to_ascii_lowercase())
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    // Backstage also indexes `<path>.<item> = true` for strings in arrays, so
                    // `filter=metadata.tags.java` finds entities tagged java.
                    if let Some(s) = v.as_str().filter(|s| s.len() <= 200) {
                        out.push((format!("{prefix}.{}", s.to_lowercase()), "true".into(), "true".into()));
                    }
                    walk(prefix, v, out);
                }
            }
            serde_json::Value::String(s) if s.len() <= 200 => {
                out.push((prefix.to_owned(), s.to_lowercase(), s.clone()))
            }
            serde_json::Value::Number(n) => out.push((prefix.to_owned(), n.to_string(), n.to_string())),
            serde_json::Value::Bool(b) => out.push((prefix.to_owned(), b.to_string(), b.to_string())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(map) = body.as_object() {
        for key in ["kind", "metadata", "spec"] {
            if let Some(v) = map.get(key) {
                walk(key, v, &mut out);
            }
        }
    }
    for (_, t, target) in relations {
        out.push((
            format!("relations.{}", t.to_ascii_lowercase()),
            target.clone(),
            target.clone(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_rows_flatten_like_backstage() {
        let body = serde_json::json!({
            "kind": "Component",
            "metadata": {"name": "Checkout", "tags": ["java", "web"], "annotations": {"a/b": "X"}},
            "spec": {"type": "service", "definition": "x".repeat(300), "replicas": 3}
        });
        let rows = search_rows(
            &body,
            &[(
                "component:default/checkout".into(),
                "ownedBy".into(),
                "group:default/a".into(),
            )],
        );
        let has = |k: &str, v: &str| rows.iter().any(|(rk, rv, _)| rk == k && rv == v);
        assert!(has("kind", "component"));
        assert!(has("metadata.name", "checkout"));
        assert!(has("metadata.tags", "java") && has("metadata.tags", "web"));
        assert!(has("metadata.tags.java", "true"));
        assert!(has("metadata.annotations.a/b", "x"));
        assert!(has("spec.type", "service"));
        assert!(has("spec.replicas", "3"));
        assert!(has("relations.ownedby", "group:default/a"));
        assert!(
            !rows.iter().any(|(k, _, _)| k == "spec.definition"),
            "long values are skipped"
        );
    }

    #[test]
    fn etag_changes_with_relations() {
        let body = serde_json::json!({"a": 1});
        let r = vec![("x".to_owned(), "dependsOn".to_owned(), "y".to_owned())];
        assert_ne!(etag(&body, &[]), etag(&body, &r));
        assert_eq!(etag(&body, &r), etag(&body, &r));
    }
}
