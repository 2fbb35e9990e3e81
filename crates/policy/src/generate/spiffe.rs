//! SPIFFE IDs as Kuma accepts them in `rules[]` matchers.
//!
//! Kuma validates every `spiffeID.value` with go-spiffe's `spiffeid.FromString`
//! (`ValidateMatch`, `pkg/core/resources/apis/mesh/validators.go` at v2.14.3), so a proposal with
//! an ID it would refuse is caught here, naming the service, instead of failing the apply.
//! go-spiffe's rules: scheme `spiffe://`; a trust domain of lower-case letters, digits, `.`, `-`
//! and `_`; a path of `/segment`s of letters, digits, `.`, `-` and `_`, none empty, `.` or `..`,
//! and no trailing `/`.

use crate::Error;

/// Checks `id` (belonging to `service`, for the message).
pub(crate) fn check_id(service: &str, id: &str) -> Result<(), Error> {
    let fail = |reason| Error::InvalidSpiffeId {
        service: service.to_string(),
        value: id.to_string(),
        reason,
    };
    let rest = id
        .strip_prefix("spiffe://")
        .ok_or_else(|| fail("it must start with `spiffe://`"))?;
    let (domain, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !is_trust_domain(domain) {
        return Err(fail(
            "the trust domain must be non-empty lower-case letters, digits, `.`, `-` or `_`",
        ));
    }
    if path.is_empty() {
        return Ok(());
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err(fail("a path segment is empty (`//` or a trailing `/`)"));
        }
        if segment == "." || segment == ".." {
            return Err(fail("a path segment is `.` or `..`"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(fail(
                "a path segment has a character other than letters, digits, `.`, `-` or `_`",
            ));
        }
    }
    Ok(())
}

/// go-spiffe's trust domain charset.
pub(crate) fn is_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
}

/// The trust domain of a SPIFFE ID (`spiffe://<domain>/...`).
pub(crate) fn trust_domain(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("spiffe://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kuma_forms_and_refuses_the_rest() {
        for ok in [
            "spiffe://default/orders",
            "spiffe://default.zone-1.mesh.local/ns/shop/sa/orders",
            "spiffe://default",
            "spiffe://mesh/backend_kuma-demo_svc_8080",
        ] {
            assert!(check_id("s", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://x/y",
            "spiffe://",
            "spiffe://Default/x",
            "spiffe://d/x/",
            "spiffe://d//x",
            "spiffe://d/../x",
            "spiffe://d/web:80",
        ] {
            assert!(check_id("s", bad).is_err(), "{bad}");
        }
        assert_eq!(trust_domain("spiffe://td.local/ns/a"), Some("td.local"));
    }
}
