//! Who is asking, and what they may do.
//!
//! People sign in through the identity provider (OIDC, see `server/src/auth`); machines send an
//! API token, or (producers only) a client-credentials access token from the same provider.
//! Either way a request carries at most one [`CurrentUser`], whose roles come from the
//! identity provider's groups ([`roles_from_groups`]) or from the token. The server is the
//! authority: every service checks its caller with [`guard`]; the UI only hides
//! what the user could not do anyway.

pub mod api;
#[cfg(feature = "ssr")]
pub mod guard;
pub mod pages;
/// SQL, for this crate's services only: the server reads through the services, which check
/// the caller.
#[cfg(feature = "ssr")]
pub(crate) mod repo;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// What a signed-in person or a token may do. Everyone signed in is at least a viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the catalog.
    Viewer,
    /// A pipeline or deployment tool reporting runs, deployments and incidents (issue 13):
    /// API tokens and client-credentials clients only, scoped to catalog teams or components
    /// ([`CurrentUser::scopes`]).
    Producer,
    /// Edits the entities of the teams they lead and accepts transfers to them.
    Lead,
    /// Reads the audit log and exports evidence.
    Auditor,
    /// Administers Bearing: tokens, role mappings, sessions, direct transfers.
    Admin,
}

impl Role {
    /// Every role, in order of increasing power.
    pub const ALL: [Role; 5] = [Role::Viewer, Role::Producer, Role::Lead, Role::Auditor, Role::Admin];

    /// The name used in configuration, tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Producer => "producer",
            Role::Lead => "lead",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person (signed in through the identity provider) or a machine (API token, or an OAuth 2.0
/// client of the identity provider sending a client-credentials access token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Token,
    /// A producer authenticated by the identity provider (client-credentials grant), listed in
    /// `--producer-clients`; named by its client id.
    Client,
    /// Bearing itself or its command line (imports at start, `bearing token create`).
    System,
}

impl ActorKind {
    /// `user`, `token`, `client` or `system`, as written in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Client => "client",
            ActorKind::System => "system",
        }
    }
}

/// The caller of the current request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub kind: ActorKind,
    /// Users: Bearing's user id; tokens: the token id; clients: the client id.
    pub id: String,
    /// Display name (a user's name or email, a token's name, a client's id).
    pub name: String,
    pub email: Option<String>,
    /// The identity provider's groups (empty for tokens).
    pub groups: Vec<String>,
    /// Roles, sorted, always including [`Role::Viewer`].
    pub roles: Vec<Role>,
    /// Catalog Groups this caller leads, as reference keys (`group:default/payments`).
    #[cfg_attr(feature = "ssr", schema(example = json!(["group:default/payments"])))]
    pub lead_of: Vec<String>,
    /// The catalog User linked to this person (same email, verified by the identity provider),
    /// as a reference key.
    pub catalog_ref: Option<String>,
    /// People: the identity provider's issuer. With [`CurrentUser::subject`] it names the person
    /// in the audit log; the email is for display only (a provider may let people choose it).
    #[serde(default)]
    pub issuer: Option<String>,
    /// People: the identity provider's subject (`sub`), stable and unique per issuer.
    #[serde(default)]
    pub subject: Option<String>,
    /// Producers: the catalog teams and components (reference keys) they may report on.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl CurrentUser {
    /// Whether the caller has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Whether the caller may read the audit log.
    pub fn can_read_audit(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Auditor)
    }

    /// Whether the caller leads the team `group_key` (a Group reference key).
    pub fn leads(&self, group_key: &str) -> bool {
        self.has(Role::Lead) && self.lead_of.iter().any(|t| t == group_key)
    }

    /// How the caller is named in the audit log and on transfers and overrides:
    /// `user:<issuer>#<subject>` (an issuer has no `#`, so the split is unambiguous),
    /// `token:<name>`, `client:<client id>` or `system:<name>`. Never the email, which the identity provider may let
    /// anyone set.
    pub fn actor(&self) -> String {
        match self.kind {
            ActorKind::User => match (&self.issuer, &self.subject) {
                (Some(issuer), Some(subject)) => format!("user:{issuer}#{subject}"),
                _ => format!("user:{}", self.id),
            },
            ActorKind::Token => format!("token:{}", self.name),
            ActorKind::Client => format!("client:{}", self.name),
            ActorKind::System => format!("system:{}", self.name),
        }
    }
}

/// What a caller may see and do, without who they are: the part of [`CurrentUser`] that
/// pages depend on. Callers with equal rights are shown the same page (the rendered-page cache
/// shares pages by it); the header's name is the one thing that differs, and the browser fills
/// it in after loading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    pub kind: ActorKind,
    /// Sorted, always including [`Role::Viewer`].
    pub roles: Vec<Role>,
    /// Led teams (Group reference keys), sorted.
    pub lead_of: Vec<String>,
    /// Producers' scopes, sorted.
    pub scopes: Vec<String>,
}

impl Rights {
    /// Whether the caller has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Whether the caller may read the audit log.
    pub fn can_read_audit(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Auditor)
    }
}

impl CurrentUser {
    /// The caller's [`Rights`], in a canonical order (two callers with the same rights get
    /// equal values whatever order their provider listed groups in).
    pub fn rights(&self) -> Rights {
        let sorted = |items: &[String]| {
            let mut items = items.to_vec();
            items.sort_unstable();
            items.dedup();
            items
        };
        let mut roles = self.roles.clone();
        roles.sort_unstable();
        roles.dedup();
        Rights {
            kind: self.kind,
            roles,
            lead_of: sorted(&self.lead_of),
            scopes: sorted(&self.scopes),
        }
    }
}

/// The session key under which the server keeps a signed-in person (`user_id`, `logged_in_at`);
/// the evidence bundle reads stored sessions by it.
pub const SESSION_AUTH_KEY: &str = "auth";

/// An explicit mapping from an identity-provider group to a role (and, for leads, a team).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    pub idp_group: String,
    pub role: Role,
    /// The led team (Group reference key) for [`Role::Lead`], empty otherwise.
    pub team: String,
}

/// Roles and led teams for a member of `groups`: every member is a viewer; each explicit
/// `mappings` row adds its role; and, when `lead_suffix` is not empty, a group named
/// `<team><lead_suffix>` (default `-leads`) makes a lead of catalog Group `group:default/<team>`.
pub fn roles_from_groups(groups: &[String], mappings: &[RoleMapping], lead_suffix: &str) -> (Vec<Role>, Vec<String>) {
    let mut roles = vec![Role::Viewer];
    let mut lead_of = Vec::new();
    for group in groups {
        for m in mappings.iter().filter(|m| &m.idp_group == group) {
            roles.push(m.role);
            if m.role == Role::Lead && !m.team.is_empty() {
                lead_of.push(m.team.clone());
            }
        }
        if let Some(team) = group
            .strip_suffix(lead_suffix)
            .filter(|t| !lead_suffix.is_empty() && !t.is_empty())
        {
            roles.push(Role::Lead);
            lead_of.push(format!("group:default/{}", team.to_ascii_lowercase()));
        }
    }
    roles.sort();
    roles.dedup();
    lead_of.sort();
    lead_of.dedup();
    (roles, lead_of)
}

/// The reference key of the catalog Group `team` (`payments`, `default/payments` or
/// `group:default/payments`, any case), or `None` when it names another kind.
pub fn team_ref(team: &str) -> Option<String> {
    let team = team.trim().to_ascii_lowercase();
    let key = if team.contains(':') {
        team
    } else if team.contains('/') {
        format!("group:{team}")
    } else {
        format!("group:default/{team}")
    };
    let name_ok = key
        .strip_prefix("group:")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'));
    name_ok.then_some(key)
}

/// A demo account of the development identity provider, listed on the login page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevUser {
    pub login: String,
    pub name: String,
    pub role_hint: String,
}

/// What the login page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginInfo {
    /// The identity provider answered discovery and sign-in can start.
    pub provider_ready: bool,
    /// The provider's issuer URL, for the message when it is unavailable.
    pub issuer: Option<String>,
    /// Demo users, when running against the development identity provider.
    pub dev_users: Vec<DevUser>,
}

/// An API token as admins see it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub role: Role,
    pub team: Option<String>,
    /// Producer tokens: what they may report on.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

/// A token just created: the secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub info: TokenView,
}

/// What an admin asks for when creating a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub name: String,
    pub role: String,
    /// The led team, for `lead` tokens: `payments` or `group:default/payments`.
    pub team: Option<String>,
    pub expires_days: Option<u32>,
    /// For `producer` tokens: the teams (`group:default/payments` or `payments`) and components
    /// (`component:default/checkout`) it may report on; at least one.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A person who has signed in, as admins see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    /// `ISSUER:SUBJECT`, as `--bootstrap-admin` takes it.
    #[serde(default)]
    pub principal: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<Role>,
    pub lead_of: Vec<String>,
    pub catalog_ref: Option<String>,
    pub last_login_at: String,
}

/// How people get privileges, for the settings page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSettings {
    /// Mappings admins added on /admin (stored in the database).
    pub mappings: Vec<RoleMapping>,
    /// Mappings from the role-mapping file (`--role-mapping-file`); changed only in the file.
    #[serde(default)]
    pub file_mappings: Vec<RoleMapping>,
    /// The role-mapping file, if one is configured.
    #[serde(default)]
    pub mapping_file: Option<String>,
    /// People who are admins through `--bootstrap-admin`, as `ISSUER:SUBJECT`.
    #[serde(default)]
    pub bootstrap_admins: Vec<String>,
    /// Groups named `<team><suffix>` make leads of `<team>`; empty when switched off.
    pub lead_group_suffix: String,
    pub anonymous_read: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn everyone_is_a_viewer() {
        let (roles, lead_of) = roles_from_groups(&[], &[], "-leads");
        assert_eq!(roles, vec![Role::Viewer]);
        assert!(lead_of.is_empty());
    }

    #[test]
    fn lead_convention_and_explicit_mappings() {
        let mappings = vec![
            RoleMapping {
                idp_group: "auditors".into(),
                role: Role::Auditor,
                team: String::new(),
            },
            RoleMapping {
                idp_group: "sre".into(),
                role: Role::Lead,
                team: "group:default/platform".into(),
            },
        ];
        let (roles, lead_of) = roles_from_groups(&groups(&["Payments-leads", "auditors", "sre"]), &mappings, "-leads");
        assert_eq!(roles, vec![Role::Viewer, Role::Lead, Role::Auditor]);
        assert_eq!(lead_of, vec!["group:default/payments", "group:default/platform"]);
    }

    #[test]
    fn empty_suffix_disables_the_convention() {
        let (roles, lead_of) = roles_from_groups(&groups(&["payments-leads", "-leads"]), &[], "");
        assert_eq!(roles, vec![Role::Viewer]);
        assert!(lead_of.is_empty());
        let (_, lead_of) = roles_from_groups(&groups(&["-leads"]), &[], "-leads");
        assert!(lead_of.is_empty(), "a bare suffix names no team");
    }

    #[test]
    fn lead_checks_the_team() {
        let (roles, lead_of) = roles_from_groups(&groups(&["payments-leads"]), &[], "-leads");
        let user = CurrentUser {
            kind: ActorKind::User,
            id: "1".into(),
            name: "Pat".into(),
            email: Some("pat@example.com".into()),
            groups: vec![],
            roles,
            lead_of,
            catalog_ref: None,
            issuer: Some("https://idp.example".into()),
            subject: Some("u-42".into()),
            scopes: vec![],
        };
        assert!(user.leads("group:default/payments"));
        assert!(!user.leads("group:default/search"));
        assert!(!user.is_admin());
        assert_eq!(user.actor(), "user:https://idp.example#u-42", "never the email");
    }

    #[test]
    fn rights_name_nobody_and_do_not_depend_on_order() {
        let person = |id: &str, name: &str, lead_of: &[&str], roles: Vec<Role>| CurrentUser {
            kind: ActorKind::User,
            id: id.into(),
            name: name.into(),
            email: Some(format!("{id}@example.com")),
            groups: groups(&[id]),
            roles,
            lead_of: groups(lead_of),
            catalog_ref: Some(format!("user:default/{id}")),
            issuer: Some("https://idp.example".into()),
            subject: Some(id.into()),
            scopes: vec![],
        };
        let pat = person(
            "pat",
            "Pat",
            &["group:default/a", "group:default/b"],
            vec![Role::Viewer, Role::Lead],
        );
        let sam = person(
            "sam",
            "Sam",
            &["group:default/b", "group:default/a"],
            vec![Role::Lead, Role::Viewer],
        );
        assert_eq!(pat.rights(), sam.rights(), "same rights whoever holds them");
        let key = serde_json::to_string(&pat.rights()).expect("serializable");
        for personal in ["pat", "Pat", "example.com", "idp.example"] {
            assert!(!key.contains(personal), "{personal} in {key}");
        }
        let lead_of_a = person("kim", "Kim", &["group:default/a"], vec![Role::Viewer, Role::Lead]);
        assert_ne!(pat.rights(), lead_of_a.rights(), "other teams, other rights");
        let admin = person("pat", "Pat", &[], vec![Role::Viewer, Role::Admin]);
        assert!(admin.rights().is_admin() && !admin.rights().has(Role::Lead));
    }
}
