//! How a person came to hold a role, in words for the reviewer and the auditor. It follows the
//! same rules as [`crate::auth::roles_from_groups`] and the bootstrap admins; the test below
//! holds the two together.

use crate::auth::{Role, RoleMapping};
use crate::ssr::AuthSettings;

/// Every source of `role` (for leads: of leading `team`) for a member of `groups` who is
/// `issuer`/`subject`, joined by `; `. Empty when nothing grants it.
pub(crate) fn explain(
    settings: &AuthSettings,
    stored: &[RoleMapping],
    groups: &[String],
    (issuer, subject): (&str, &str),
    role: Role,
    team: &str,
) -> String {
    let matches = |m: &RoleMapping| m.role == role && (role != Role::Lead || m.team == team);
    let mut why = Vec::new();
    for group in groups {
        for m in settings
            .file_mappings
            .iter()
            .filter(|m| &m.idp_group == group && matches(m))
        {
            why.push(format!("IdP group `{}` via the role-mapping file", m.idp_group));
        }
        for m in stored.iter().filter(|m| &m.idp_group == group && matches(m)) {
            why.push(format!("IdP group `{}` via a mapping on /admin", m.idp_group));
        }
        let suffix = &settings.lead_group_suffix;
        let convention_team = group
            .strip_suffix(suffix.as_str())
            .filter(|t| !suffix.is_empty() && !t.is_empty())
            .map(|t| format!("group:default/{}", t.to_ascii_lowercase()));
        if role == Role::Lead && convention_team.as_deref() == Some(team) {
            why.push(format!("IdP group `{group}` via the `<team>{suffix}` convention"));
        }
    }
    let bootstrap = settings
        .bootstrap_admins
        .iter()
        .any(|(i, s)| i == issuer && s == subject);
    if role == Role::Admin && bootstrap {
        why.push(format!("--bootstrap-admin {issuer}:{subject}"));
    }
    why.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles_from_groups;

    #[test]
    fn every_role_the_groups_grant_is_explained() {
        let settings = AuthSettings {
            lead_group_suffix: "-leads".into(),
            file_mappings: vec![RoleMapping {
                idp_group: "sec".into(),
                role: Role::Auditor,
                team: String::new(),
            }],
            bootstrap_admins: vec![("https://idp".into(), "root".into())],
            ..AuthSettings::default()
        };
        let stored = vec![RoleMapping {
            idp_group: "sre".into(),
            role: Role::Lead,
            team: "group:default/platform".into(),
        }];
        let groups: Vec<String> = ["Payments-leads", "sec", "sre", "other"].map(String::from).to_vec();
        let mappings: Vec<RoleMapping> = settings.file_mappings.iter().chain(&stored).cloned().collect();
        let (roles, lead_of) = roles_from_groups(&groups, &mappings, "-leads");
        for team in &lead_of {
            let why = explain(&settings, &stored, &groups, ("https://idp", "root"), Role::Lead, team);
            assert!(!why.is_empty(), "lead of {team}");
        }
        assert_eq!(
            explain(
                &settings,
                &stored,
                &groups,
                ("https://idp", "root"),
                Role::Lead,
                "group:default/payments"
            ),
            "IdP group `Payments-leads` via the `<team>-leads` convention"
        );
        assert!(roles.contains(&Role::Auditor));
        assert_eq!(
            explain(&settings, &stored, &groups, ("https://idp", "x"), Role::Auditor, ""),
            "IdP group `sec` via the role-mapping file"
        );
        assert_eq!(
            explain(&settings, &stored, &[], ("https://idp", "root"), Role::Admin, ""),
            "--bootstrap-admin https://idp:root"
        );
        assert_eq!(explain(&settings, &stored, &groups, ("i", "s"), Role::Admin, ""), "");
    }
}
