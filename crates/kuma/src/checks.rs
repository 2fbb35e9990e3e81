//! Kuma's checks beyond the schema: the rules its API server applies to a PUT body once the body
//! has passed [`crate::schema`], and the deprecation warnings it answers on success.
//!
//! Bearing previews the policies it generates and `kuma-sim` answers writes like Kuma; both need
//! the same verdicts Kuma gives, with Kuma's field paths and wording, so they are here, pure.
//! Sources (kumahq/kuma v2.14.3):
//!
//! - [`spec_violations`] follows `MeshTrafficPermissionResource.validate()`
//!   (`pkg/plugins/policies/meshtrafficpermission/api/v1alpha1/validator.go`) with
//!   `mesh.ValidateTargetRef` / `mesh.ValidateMatch` (`pkg/core/resources/apis/mesh/validators.go`);
//!   SPIFFE IDs parsed like go-spiffe v2.6.0 `spiffeid.FromString`. Other kinds: none yet (their
//!   Kuma validators are not reproduced; the schema still applies).
//! - [`request_violations`] follows `validateResourceRequest` in `pkg/api-server/resource_endpoints.go`:
//!   name and mesh from the URL against the body, labels (k8s label rules, wording from Kuma's
//!   golden `put_mtp_02.golden.json`), `ValidateMeta` (`pkg/core/resources/apis/mesh/meta_validator.go`).
//! - [`warnings`] follows each type's `Deprecations()` (`api/v1alpha1/deprecated.go`) and
//!   `TopLevelTargetRefDeprecations` (`pkg/plugins/policies/core/jsonpatch/validators/validator.go`).

use serde_json::Value;

/// One violation, as Kuma's `validators.Violation`: the field in Kuma's path notation
/// (`spec.from[0].default.action`, `labels["foo"]`, `spec` for the whole spec) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Kuma's path to the field.
    pub field: String,
    /// Kuma's wording.
    pub message: String,
}

fn v(field: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        field: field.into(),
        message: message.into(),
    }
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn non_empty_map(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_object).is_some_and(|m| !m.is_empty())
}

/// Kuma's validation of a resource's `spec` (after the schema): for `MeshTrafficPermission`, the
/// targetRef kinds, `from` xor `rules`, non-empty rules, SPIFFE IDs and `default.action`.
pub fn spec_violations(kind: &str, resource: &Value) -> Vec<Violation> {
    let spec = resource.get("spec").unwrap_or(&Value::Null);
    match kind {
        "MeshTrafficPermission" => mtp_violations(spec),
        _ => Vec::new(),
    }
}

fn mtp_violations(spec: &Value) -> Vec<Violation> {
    const TOP: [&str; 5] = ["Mesh", "MeshSubset", "MeshService", "MeshServiceSubset", "Dataplane"];
    const FROM: [&str; 4] = ["Mesh", "MeshSubset", "MeshService", "MeshServiceSubset"];
    let mut out = Vec::new();
    let (from, rules) = (list(spec, "from"), list(spec, "rules"));
    if let Some(top) = spec.get("targetRef") {
        // `inbound.AffectsInbounds`: a policy with from[] or rules[] is an inbound policy.
        let inbound = !from.is_empty() || !rules.is_empty();
        out.extend(target_ref(top, &TOP, inbound, "spec.targetRef"));
    }
    if !from.is_empty() && !rules.is_empty() {
        out.push(v("spec", "field 'from' must be empty when 'rules' is defined"));
    }
    if from.is_empty() && rules.is_empty() {
        out.push(v("spec", "at least one of 'from' or 'rules' has to be defined"));
    }
    for (i, rule) in rules.iter().enumerate() {
        let path = format!("spec.rules[{i}]");
        let default = rule.get("default").unwrap_or(&Value::Null);
        let lists = ["allow", "allowWithShadowDeny", "deny"].map(|k| list(default, k));
        if lists.iter().all(|l| l.is_empty()) {
            out.push(v(
                &path,
                "at least one of 'allow', 'allowWithShadowDeny', 'deny' has to be defined",
            ));
        }
        for (name, matches) in ["allow", "allowWithShadowDeny", "deny"].iter().zip(lists) {
            for (j, m) in matches.iter().enumerate() {
                out.extend(match_violations(m, &format!("{path}.{name}[{j}]")));
            }
        }
    }
    for (i, entry) in from.iter().enumerate() {
        let path = format!("spec.from[{i}]");
        let target = entry.get("targetRef").unwrap_or(&Value::Null);
        out.extend(target_ref(target, &FROM, false, &format!("{path}.targetRef")));
        let action = entry.get("default").map(|d| text(d, "action")).unwrap_or("");
        if action.is_empty() {
            out.push(v(format!("{path}.default.action"), "must be defined"));
        }
    }
    out
}

/// `mesh.ValidateTargetRef` for the kinds a MeshTrafficPermission allows.
fn target_ref(r: &Value, supported: &[&str], inbound: bool, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let kind = text(r, "kind");
    let at = |field: &str| {
        if field.is_empty() {
            path.to_string()
        } else {
            format!("{path}.{field}")
        }
    };
    if kind.is_empty() {
        return vec![v(at("kind"), "must be defined")];
    }
    if !supported.contains(&kind) {
        return vec![v(at("kind"), format!("value '{kind}' is not supported"))];
    }
    let set = |field: &str| match r.get(field) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    let disallow = |out: &mut Vec<Violation>, fields: &[&str]| {
        for field in fields {
            if set(field) {
                out.push(v(at(field), format!("must not be set with kind {kind}")));
            }
        }
    };
    let name = text(r, "name");
    let valid_name = |n: &str| {
        n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_')
    };
    match kind {
        "Mesh" => {
            if !name.is_empty() {
                out.push(v(at("name"), "using name with kind Mesh is not yet supported"));
            }
            disallow(&mut out, &["mesh", "tags", "labels", "namespace", "sectionName"]);
            proxy_types(r, &at("proxyTypes"), &mut out);
        }
        "Dataplane" => {
            disallow(&mut out, &["tags", "mesh", "proxyTypes"]);
            if non_empty_map(r, "labels") && (!name.is_empty() || !text(r, "namespace").is_empty()) {
                out.push(v(at("labels"), "either labels or name and namespace must be specified"));
            }
            if !inbound && !text(r, "sectionName").is_empty() {
                out.push(v(at("sectionName"), "can only be used with inbound policies"));
            }
        }
        "MeshSubset" => {
            disallow(&mut out, &["name", "mesh"]);
            disallow(&mut out, &["labels", "namespace", "sectionName"]);
            proxy_types(r, &at("proxyTypes"), &mut out);
        }
        "MeshService" => {
            if !valid_name(name) {
                out.push(v(
                    at("name"),
                    "invalid characters: must consist of lower case alphanumeric characters, '-', '.' and '_'.",
                ));
            }
            disallow(&mut out, &["mesh", "tags", "proxyTypes"]);
            let labels = non_empty_map(r, "labels");
            if !labels && name.is_empty() {
                out.push(v(at(""), "name or labels must be set when kind is MeshService"));
            }
            if labels && (!name.is_empty() || !text(r, "namespace").is_empty()) {
                out.push(v(at("labels"), "either labels or name and namespace must be specified"));
            }
        }
        "MeshServiceSubset" => {
            if name.is_empty() {
                out.push(v(at("name"), "must be set when kind is MeshServiceSubset"));
            }
            if !valid_name(name) {
                out.push(v(
                    at("name"),
                    "invalid characters: must consist of lower case alphanumeric characters, '-', '.' and '_'.",
                ));
            }
            disallow(&mut out, &["mesh", "proxyTypes", "labels", "namespace", "sectionName"]);
        }
        _ => {}
    }
    out
}

fn proxy_types(r: &Value, field: &str, out: &mut Vec<Violation>) {
    if r.get("proxyTypes").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        out.push(v(field, "must be undefined or have at least one element"));
    }
}

/// `mesh.ValidateMatch`: a `spiffeID` value must parse; an `sni` needs `type: Exact` and a value.
fn match_violations(m: &Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(id) = m.get("spiffeID") {
        if let Err(reason) = parse_spiffe_id(text(id, "value")) {
            out.push(v(
                format!("{path}.spiffeID"),
                format!("must be a valid Spiffe ID: {reason}"),
            ));
        }
    }
    if let Some(sni) = m.get("sni") {
        match text(sni, "type") {
            "Exact" => {}
            "" => out.push(v(format!("{path}.sni.type"), "must be set")),
            other => out.push(v(
                format!("{path}.sni.type"),
                format!("unrecognized type {other:?}, supported values are: Exact"),
            )),
        }
        if text(sni, "value").is_empty() {
            out.push(v(format!("{path}.sni.value"), "must be set"));
        }
    }
    out
}

/// go-spiffe v2.6.0 `spiffeid.FromString` (`spiffeid/id.go`, `path.go`, `errors.go`), with its
/// error texts.
pub fn parse_spiffe_id(id: &str) -> Result<(), &'static str> {
    const PREFIX: &str = "spiffe://";
    if id.is_empty() {
        return Err("cannot be empty");
    }
    let Some(rest) = id.strip_prefix(PREFIX) else {
        return Err("scheme is missing or invalid");
    };
    let (domain, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !domain
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_'))
    {
        return Err("trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores");
    }
    if domain.is_empty() {
        return Err("trust domain is missing");
    }
    if path.is_empty() {
        return Ok(());
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if segment.is_empty() {
            return Err(if last {
                "path cannot have a trailing slash"
            } else {
                "path cannot contain empty segments"
            });
        }
        if !segment
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        {
            return Err("path segment characters are limited to letters, numbers, dots, dashes, and underscores");
        }
        if *segment == "." || *segment == ".." {
            return Err("path cannot contain dot segments");
        }
    }
    Ok(())
}

const LABEL_NAME_RULE: &str = "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn label_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn dns_subdomain_ok(prefix: &str) -> bool {
    prefix.len() <= 253
        && prefix.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// k8s `IsQualifiedName` for a label key, in the wording of Kuma's golden `put_mtp_02`: empty
/// when Kuma would accept the key. Public so that configuration naming a label (Bearing's
/// `--kuma-team-label`) is refused at start for the same reasons Kuma would refuse the label.
pub fn label_key_problems(key: &str) -> Vec<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let mut out = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                out.push("prefix part must be non-empty".to_string());
            } else if !dns_subdomain_ok(prefix) {
                out.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
            }
            *name
        }
        _ => {
            return vec![format!(
                "a valid label key must {LABEL_NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )]
        }
    };
    if name.is_empty() {
        out.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        out.push("name part must be no more than 63 characters".to_string());
    }
    if !label_name_ok(name) {
        out.push(format!("name part must {LABEL_NAME_RULE}"));
    }
    out
}

/// Whether Kuma's API server would accept this label (`IsQualifiedName` key, `IsValidLabelValue`
/// value; `pkg/api-server/resource_endpoints.go`): a key of at most 63 characters after an
/// optional DNS-subdomain prefix of at most 253, a value of at most 63. A control plane never
/// serves others, so a reader may drop them.
pub fn label_ok(key: &str, value: &str) -> bool {
    label_key_problems(key).is_empty() && label_value_problems(value).is_empty()
}

/// k8s `IsValidLabelValue`, in the wording of Kuma's golden `put_mtp_02`.
fn label_value_problems(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 63 {
        out.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !label_name_ok(value) {
        out.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string());
    }
    out
}

/// What Kuma's API server checks of a PUT body against its URL (`validateResourceRequest`), in
/// Kuma's order: the name in the URL against the body's, the mesh likewise, the labels (sorted by
/// key, origin and `kuma.io/mesh` first), then the name's and mesh's characters. Call it with the
/// body after [`crate::schema::apply_defaults`] (an absent `mesh` is `default`).
pub fn request_violations(url_mesh: &str, url_name: &str, resource: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let name = text(resource, "name");
    let mesh = text(resource, "mesh");
    if url_name != name {
        out.push(v("name", "name from the URL has to be the same as in body"));
    }
    if url_mesh != mesh {
        out.push(v("mesh", "mesh from the URL has to be the same as in body"));
    }
    let labels = resource.get("labels").and_then(Value::as_object);
    if let Some(labels) = labels {
        // `ResourceOrigin.IsValid()` (api/mesh/v1alpha1): `unknown resource origin %q`.
        if let Some(origin) = labels.get("kuma.io/origin").and_then(Value::as_str) {
            if origin != "zone" && origin != "global" {
                out.push(v(
                    "labels[\"kuma.io/origin\"]",
                    format!("unknown resource origin {origin:?}"),
                ));
            }
        }
        if labels
            .get("kuma.io/mesh")
            .and_then(Value::as_str)
            .is_some_and(|m| m != mesh)
        {
            out.push(v(
                "labels[\"kuma.io/mesh\"]",
                "kuma.io/mesh label must not differ from mesh set on resource",
            ));
        }
        let mut keys: Vec<&String> = labels.keys().collect();
        keys.sort();
        for key in keys {
            let field = format!("labels[{key:?}]");
            for problem in label_key_problems(key) {
                out.push(v(&field, problem));
            }
            for problem in label_value_problems(labels[key].as_str().unwrap_or("")) {
                out.push(v(&field, problem));
            }
        }
    }
    // ValidateMeta: RFC 1123 name; the mesh with the older, laxer character set.
    let identifier = |s: &str| {
        s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
    };
    if name.is_empty() {
        out.push(v("name", "cannot be empty"));
    } else if name.len() > 253 {
        out.push(v("name", "value length must less or equal 253"));
    } else if !identifier(name) {
        out.push(v("name", "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
    }
    if mesh.is_empty() {
        out.push(v("mesh", "cannot be empty"));
    } else if !mesh
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.'))
    {
        out.push(v(
            "mesh",
            "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_', '.' symbols.",
        ));
    }
    out
}

const TOP_LEVEL_REPLACED: [&str; 3] = ["MeshService", "MeshServiceSubset", "MeshSubset"];
const OTEL_ENDPOINT: &str =
    "openTelemetry.endpoint is deprecated, use openTelemetry.backendRef with a MeshOpenTelemetryBackend resource instead";

/// The warnings Kuma answers with a successful PUT (`{"warnings": [...]}`), in its order.
pub fn warnings(kind: &str, resource: &Value) -> Vec<String> {
    let spec = resource.get("spec").unwrap_or(&Value::Null);
    let from = list(spec, "from");
    let mut out = Vec::new();
    match kind {
        "MeshTrafficPermission" => {
            if !from.is_empty() {
                out.push(
                    "'from' field is deprecated and will be removed in 3.0, use 'rules' with MeshIdentity (spiffeId) instead"
                        .to_string(),
                );
            }
            for entry in from {
                if entry.get("targetRef").map(|t| text(t, "kind")) == Some("MeshService") {
                    out.push(
                        "MeshService value for 'from[].targetRef.kind' is deprecated, use MeshSubset with 'kuma.io/service' instead"
                            .to_string(),
                    );
                }
            }
        }
        "MeshTimeout" if !from.is_empty() => {
            out.push("'from' field is deprecated, use 'rules' instead".to_string());
        }
        "MeshAccessLog" => {
            if !from.is_empty() {
                out.push("'from' field is deprecated, use 'rules' instead".to_string());
            }
            let inline = |entries: &[Value]| {
                entries.iter().any(|e| {
                    let backends = e.get("default").map(|d| list(d, "backends")).unwrap_or(&[]);
                    backends.iter().any(inline_otel)
                })
            };
            if inline(list(spec, "to")) || inline(from) || inline(list(spec, "rules")) {
                out.push(OTEL_ENDPOINT.to_string());
            }
        }
        "MeshMetric" => {
            let backends = spec.get("default").map(|d| list(d, "backends")).unwrap_or(&[]);
            if backends.iter().any(inline_otel) {
                out.push(OTEL_ENDPOINT.to_string());
            }
        }
        _ => {}
    }
    let policy = matches!(
        kind,
        "MeshTrafficPermission" | "MeshTimeout" | "MeshRetry" | "MeshAccessLog" | "MeshMetric"
    );
    if let Some(top) = spec.get("targetRef").filter(|_| policy) {
        let top_kind = text(top, "kind");
        if TOP_LEVEL_REPLACED.contains(&top_kind) {
            out.push(format!(
                "{top_kind} value for 'targetRef.kind' is deprecated, use Dataplane with labels instead"
            ));
        }
        if top_kind == "MeshHTTPRoute" {
            out.push(
                "MeshHTTPRoute value for 'targetRef.kind' is deprecated, use MeshHTTPRoute in spec.to[].targetRef"
                    .to_string(),
            );
        }
    }
    out
}

fn inline_otel(backend: &Value) -> bool {
    backend
        .get("openTelemetry")
        .is_some_and(|o| !text(o, "endpoint").is_empty() && o.get("backendRef").is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spiffe_ids_like_go_spiffe() {
        assert_eq!(parse_spiffe_id("spiffe://default/web"), Ok(()));
        assert_eq!(parse_spiffe_id("spiffe://default"), Ok(()));
        assert_eq!(parse_spiffe_id("http://x/y"), Err("scheme is missing or invalid"));
        assert_eq!(parse_spiffe_id("spiffe:///y"), Err("trust domain is missing"));
        assert_eq!(
            parse_spiffe_id("spiffe://a/b/"),
            Err("path cannot have a trailing slash")
        );
        assert_eq!(
            parse_spiffe_id("spiffe://a//b"),
            Err("path cannot contain empty segments")
        );
        assert_eq!(
            parse_spiffe_id("spiffe://a/../b"),
            Err("path cannot contain dot segments")
        );
        assert!(parse_spiffe_id("spiffe://A/b")
            .unwrap_err()
            .starts_with("trust domain characters"));
    }

    #[test]
    fn from_and_rules_are_exclusive_and_one_is_needed() {
        let both = json!({"spec": {"targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"action": "Allow"}}],
            "rules": [{"default": {"allow": [{"spiffeID": {"type": "Exact", "value": "spiffe://m/a"}}]}}]}});
        assert_eq!(
            spec_violations("MeshTrafficPermission", &both),
            [v("spec", "field 'from' must be empty when 'rules' is defined")]
        );
        let neither = json!({"spec": {"targetRef": {"kind": "Mesh"}}});
        assert_eq!(
            spec_violations("MeshTrafficPermission", &neither),
            [v("spec", "at least one of 'from' or 'rules' has to be defined")]
        );
    }
}
