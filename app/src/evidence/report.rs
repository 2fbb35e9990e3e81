//! `report.html`: the bundle read by a person. Self-contained (no scripts, no external styles),
//! every value escaped for the place it lands in.

use std::collections::BTreeMap;
use std::fmt::Write;

use html_escape::encode_text as text;

use super::export::Plan;
use super::period::rfc3339;

pub(super) struct Report<'a> {
    pub plan: &'a Plan,
    pub head: &'a str,
    /// Each file with its rows.
    pub files: &'a [(&'static str, u64)],
    /// Exceptions per control.
    pub counts: &'a BTreeMap<String, u64>,
    /// The first exceptions, worst control first.
    pub exceptions: &'a [[String; 5]],
    pub total_exceptions: u64,
}

/// What each file holds, for the table of contents.
fn describe(file: &str) -> &'static str {
    match file {
        "populations/entities.csv" => "Every catalog entity as of the period's end, with its owner and since when",
        "populations/users_and_roles.csv" => {
            "Every person and API token holding a role during the period, and how it was granted"
        }
        "populations/role_mappings.csv" => "Identity-provider group to role rules in force at the period's end",
        "populations/api_tokens.csv" => "API tokens that existed during the period",
        "changes/ownership_transfers.csv" => {
            "Ownership transfers open during the period, with the approver and four-eyes"
        }
        "changes/entity_edits.csv" => "Edits of entities in the period",
        "changes/imports.csv" => "Catalog imports in the period",
        "changes/mesh_policy_changes.csv" => "Mesh policies Bearing applied, adopted or rolled back",
        "mesh/mtls_state.csv" => "Each service's mTLS state, day by day",
        "mesh/permitted_edges.csv" => "Who could call whom, and by which policy",
        "mesh/drift.csv" => "Edges whose declared, observed and permitted states disagree",
        "delivery/deployments.csv" => "Deployments, with the producer identity that reported each",
        "exceptions.csv" => "What a reviewer would flag",
        "audit/audit_log.jsonl" => "The period's audit rows with their canonical bytes and hashes",
        _ => "",
    }
}

pub(super) fn render(r: &Report<'_>) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let period = format!("{} to {}", rfc3339(r.plan.period.from), rfc3339(r.plan.period.to));
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bearing evidence, {}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2937}}\
         table{{border-collapse:collapse;width:100%;margin:1rem 0}}td,th{{border:1px solid #d1d5db;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#f3f4f6}}.n{{text-align:right}}code{{font-size:.9em}}</style></head><body>",
        text(&period)
    );
    let _ = write!(
        h,
        "<h1>Evidence bundle</h1><p>Period <strong>{}</strong> (start included, end excluded). Generated {} for {}. \
         Populations are as of the period's end, taken at audit chain head <code>{}</code>.</p>\
         <p>Check this bundle with the commands in <code>VERIFY.md</code>: <code>sha256sum -c SHA256SUMS</code>, the \
         <code>openssl pkeyutl -verify</code> of <code>SHA256SUMS.sig</code>, and <code>python3 audit/verify_chain.py</code>.</p>",
        text(&period),
        text(&rfc3339(r.plan.generated_at)),
        text(&r.plan.requested_by),
        text(r.head),
    );
    let _ = write!(h, "<h2>Controls</h2><table><tr><th>Control</th><th>Criteria</th><th>Evidence</th><th class=\"n\">Exceptions</th></tr>");
    for c in bearing_evidence::CONTROLS {
        let count = r
            .counts
            .get(c.id)
            .map(u64::to_string)
            .unwrap_or_else(|| "not assessed".into());
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            text(c.id),
            text(c.criteria),
            text(c.evidence),
            text(&count)
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>Files</h2><table><tr><th>File</th><th>What</th><th class=\"n\">Rows</th></tr>"
    );
    for (file, rows) in r.files {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{rows}</td></tr>",
            text(file),
            text(describe(file))
        );
    }
    h.push_str("</table>");
    let _ = write!(h, "<h2>Exceptions ({})</h2>", r.total_exceptions);
    if r.exceptions.is_empty() {
        h.push_str("<p>None found.</p>");
    } else {
        h.push_str("<table><tr><th>Control</th><th>Kind</th><th>Subject</th><th>Detail</th><th>At</th></tr>");
        for row in r.exceptions {
            h.push_str("<tr>");
            for cell in row {
                let _ = write!(h, "<td>{}</td>", text(cell));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        if (r.exceptions.len() as u64) < r.total_exceptions {
            let _ = write!(
                h,
                "<p>The first {} are shown; <code>exceptions.csv</code> lists them all.</p>",
                r.exceptions.len()
            );
        }
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::period::Period;

    #[test]
    fn every_value_is_escaped_as_html_text() {
        let at = time::macros::datetime!(2026-12-01 0:00 UTC);
        let plan = Plan {
            period: Period {
                from: at,
                to: at + time::Duration::days(1),
                sample_seed: None,
            },
            requested_by: "user:https://idp#<img src=x onerror=alert(1)>".into(),
            generated_at: at,
        };
        let hostile = "</td><script>alert('x')</script>&amp;";
        let exceptions = [[
            "changes".to_owned(),
            "self_approved_transfer".to_owned(),
            hostile.to_owned(),
            "detail \"quoted\"".to_owned(),
            String::new(),
        ]];
        let counts = BTreeMap::from([("changes".to_owned(), 1)]);
        let html = render(&Report {
            plan: &plan,
            head: "7:abc",
            files: &[("populations/entities.csv", 3)],
            counts: &counts,
            exceptions: &exceptions,
            total_exceptions: 1,
        });
        assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;/td&gt;&lt;script&gt;alert('x')&lt;/script&gt;&amp;amp;"),
            "{html}"
        );
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("not assessed"), "controls without a count say so");
    }
}
