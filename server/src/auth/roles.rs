//! Who gets privileges, as the operator configured it at start: the role-mapping file
//! (`--role-mapping-file`) and the bootstrap admins (`--bootstrap-admin`). Nothing is granted
//! by a group's name alone; see [`app::auth::service`] for how these combine with the
//! mappings admins edit on /admin.

use std::path::Path;

use anyhow::Context;
use app::auth::{team_ref, Role, RoleMapping};
use serde::Deserialize;

/// The file: a list of mappings.
///
/// ```toml
/// [[mapping]]
/// group = "platform-admins"
/// role = "admin"
///
/// [[mapping]]
/// group = "checkout-leads"
/// role = "lead"
/// team = "team-checkout"
/// ```
///
/// or the same as JSON: `{"mapping": [{"group": "platform-admins", "role": "admin"}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    mapping: Vec<FileMapping>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMapping {
    group: String,
    role: String,
    #[serde(default)]
    team: Option<String>,
}

/// Reads the role-mapping file; `.json` is JSON, `.toml` is TOML. Every problem names the file
/// and the entry.
pub fn load_mapping_file(path: &Path) -> anyhow::Result<Vec<RoleMapping>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the role-mapping file {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    parse_mappings(&text, ext.as_deref()).map_err(|e| anyhow::anyhow!("role-mapping file {}: {e}", path.display()))
}

/// Parses the text of a mapping file of type `ext` (`json` or `toml`).
fn parse_mappings(text: &str, ext: Option<&str>) -> Result<Vec<RoleMapping>, String> {
    let file: MappingFile = match ext {
        Some("json") => serde_json::from_str(text).map_err(|e| e.to_string())?,
        Some("toml") => toml::from_str(text).map_err(|e| e.to_string())?,
        _ => return Err("name it *.json or *.toml, so Bearing knows how to read it".into()),
    };
    let mut out: Vec<RoleMapping> = Vec::new();
    for (i, m) in file.mapping.into_iter().enumerate() {
        let at = format!("mapping {} (group `{}`)", i + 1, m.group.escape_debug());
        let group = m.group.trim();
        if group.is_empty() || group.len() > 200 || group.chars().any(char::is_control) {
            return Err(format!(
                "{at}: `group` must be the provider's group name, 1 to 200 printable characters"
            ));
        }
        let role = Role::parse(m.role.trim()).ok_or_else(|| {
            format!(
                "{at}: unknown role `{}`; use viewer, lead, auditor or admin",
                m.role.escape_debug()
            )
        })?;
        if role == Role::Producer {
            return Err(format!(
                "{at}: producer is a role for machines; create a producer token instead (bearing token create --role producer)"
            ));
        }
        let team = match (role, m.team.as_deref().map(str::trim).filter(|t| !t.is_empty())) {
            (Role::Lead, Some(team)) => team_ref(team)
                .ok_or_else(|| format!("{at}: `team` must name a catalog Group, such as team-checkout"))?,
            (Role::Lead, None) => return Err(format!("{at}: a lead mapping needs `team`, the team it leads")),
            (_, Some(_)) => return Err(format!("{at}: only lead mappings name a `team`")),
            (_, None) => String::new(),
        };
        let mapping = RoleMapping {
            idp_group: group.to_owned(),
            role,
            team,
        };
        if !out.contains(&mapping) {
            out.push(mapping);
        }
    }
    Ok(out)
}

/// Parses `--bootstrap-admin` values (`ISSUER:SUBJECT`) against the configured issuer: the
/// issuer itself contains colons, so it must be spelled exactly as `--oidc-issuer`.
pub fn parse_bootstrap_admins(values: &[String], issuer: Option<&str>) -> anyhow::Result<Vec<(String, String)>> {
    let values: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let Some(issuer) = issuer.filter(|i| !i.is_empty()) else {
        anyhow::bail!("--bootstrap-admin names a person at the identity provider: set --oidc-issuer too");
    };
    values
        .into_iter()
        .map(|v| {
            let subject = v
                .strip_prefix(issuer)
                .and_then(|rest| rest.strip_prefix(':'))
                .filter(|s| !s.is_empty() && !s.chars().any(char::is_control));
            match subject {
                Some(subject) => Ok((issuer.to_owned(), subject.to_owned())),
                None => anyhow::bail!(
                    "--bootstrap-admin {}: write ISSUER:SUBJECT with ISSUER exactly as --oidc-issuer \
                     ({issuer}), e.g. {issuer}:248289761001 (the `sub` of the person's ID token)",
                    v.escape_debug()
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_files_map_groups_to_roles() {
        let toml = "[[mapping]]\ngroup = \"ops\"\nrole = \"admin\"\n\n[[mapping]]\ngroup = \"co-leads\"\nrole = \"lead\"\nteam = \"Team-Checkout\"\n";
        let json = r#"{"mapping": [{"group": "ops", "role": "admin"}, {"group": "co-leads", "role": "lead", "team": "group:default/team-checkout"}]}"#;
        let expected = vec![
            RoleMapping {
                idp_group: "ops".into(),
                role: Role::Admin,
                team: String::new(),
            },
            RoleMapping {
                idp_group: "co-leads".into(),
                role: Role::Lead,
                team: "group:default/team-checkout".into(),
            },
        ];
        assert_eq!(parse_mappings(toml, Some("toml")).unwrap(), expected);
        assert_eq!(parse_mappings(json, Some("json")).unwrap(), expected);
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let cases = [
            ("[[mapping]]\ngroup = \"x\"\nrole = \"owner\"\n", "unknown role `owner`"),
            ("[[mapping]]\ngroup = \"x\"\nrole = \"lead\"\n", "needs `team`"),
            (
                "[[mapping]]\ngroup = \"x\"\nrole = \"admin\"\nteam = \"t\"\n",
                "only lead mappings",
            ),
            ("[[mapping]]\ngroup = \"\"\nrole = \"admin\"\n", "`group` must be"),
            (
                "[[mapping]]\ngroup = \"x\"\nrole = \"admin\"\nextra = 1\n",
                "unknown field",
            ),
            ("[[mapping]\n", "line 1"),
        ];
        for (text, want) in cases {
            let err = parse_mappings(text, Some("toml")).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert!(parse_mappings("{}", Some("yaml"))
            .unwrap_err()
            .contains("*.json or *.toml"));
    }

    #[test]
    fn bootstrap_admins_must_be_at_the_configured_issuer() {
        let issuer = Some("https://idp.example:8443/realms/acme");
        let ok = parse_bootstrap_admins(&["https://idp.example:8443/realms/acme:a:b".into()], issuer).unwrap();
        assert_eq!(
            ok,
            [("https://idp.example:8443/realms/acme".to_owned(), "a:b".to_owned())]
        );
        for bad in [
            "https://other.example:u1",
            "https://idp.example:8443/realms/acme:",
            "u1",
        ] {
            let err = parse_bootstrap_admins(&[bad.into()], issuer).unwrap_err().to_string();
            assert!(err.contains("ISSUER:SUBJECT"), "{bad}: {err}");
        }
        assert!(parse_bootstrap_admins(&["x:y".into()], None).is_err());
        assert!(parse_bootstrap_admins(&[], None).unwrap().is_empty());
    }
}
