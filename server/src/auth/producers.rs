//! Producers that authenticate at the identity provider instead of with a Bearing API token
//! (issue 13 §2): the `--producer-clients` file names the OAuth 2.0 clients whose
//! client-credentials access tokens Bearing takes, and what each may report on. A JWT carries no
//! Bearing team, so the scopes live here, with the operator, as a producer token's do in the
//! database.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use app::auth::service::MAX_TOKEN_SCOPES;
use app::auth::team_ref;
use serde::Deserialize;

/// The client-credentials producers Bearing takes, read at start.
#[derive(Clone, Debug)]
pub struct ProducerClients {
    /// The audience (`aud`) their access tokens must carry (`--producer-audience`).
    pub audience: String,
    /// Client id to the catalog teams and components (reference keys) it may report on.
    clients: BTreeMap<String, Vec<String>>,
}

impl ProducerClients {
    /// Producers `clients` (client id, scopes) whose tokens are for `audience`.
    pub fn new(audience: impl Into<String>, clients: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        ProducerClients {
            audience: audience.into(),
            clients: clients.into_iter().collect(),
        }
    }

    /// What `client_id` may report on, or `None` when it is not a producer here.
    pub fn scopes(&self, client_id: &str) -> Option<&[String]> {
        self.clients.get(client_id).map(Vec::as_slice)
    }

    /// How many clients are listed.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is listed.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// The file: a list of clients.
///
/// ```toml
/// [[client]]
/// id = "luigi-orders"
/// scopes = ["team-data", "component:default/orders-etl"]
/// ```
///
/// or the same as JSON: `{"client": [{"id": "luigi-orders", "scopes": ["team-data"]}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default)]
    client: Vec<FileClient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClient {
    id: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Reads the `--producer-clients` file (`.json` is JSON, `.toml` is TOML) for tokens whose
/// audience is `audience`. Every problem names the file and the entry (in TOML, its line).
pub fn load(path: &Path, audience: &str) -> anyhow::Result<ProducerClients> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the producer-clients file {} (--producer-clients)",
            path.display()
        )
    })?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let clients = parse_clients(&text, ext.as_deref())
        .map_err(|e| anyhow::anyhow!("producer-clients file {}: {e}", path.display()))?;
    let audience = audience.trim();
    if audience.is_empty() || audience.chars().any(char::is_whitespace) {
        anyhow::bail!("--producer-audience must be the audience (`aud`) producers' access tokens carry, such as Bearing's public URL");
    }
    Ok(ProducerClients::new(audience, clients))
}

/// Parses the text of a producer-clients file of type `ext` (`json` or `toml`).
fn parse_clients(text: &str, ext: Option<&str>) -> Result<Vec<(String, Vec<String>)>, String> {
    let file: ClientsFile = match ext {
        Some("json") => serde_json::from_str(text).map_err(|e| e.to_string())?,
        Some("toml") => toml::from_str(text).map_err(|e| e.to_string())?,
        _ => return Err("name it *.json or *.toml, so Bearing knows how to read it".into()),
    };
    // `[[client]]` headers, so that a TOML entry's problem can name its line.
    let headers: Vec<usize> = match ext {
        Some("toml") => text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[client]]"))
            .map(|(i, _)| i + 1)
            .collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (i, c) in file.client.into_iter().enumerate() {
        let at = match headers.get(i) {
            Some(line) => format!("line {line}: client {} (`{}`)", i + 1, c.id.escape_debug()),
            None => format!("client {} (`{}`)", i + 1, c.id.escape_debug()),
        };
        let id = c.id.trim();
        // The annotation `bearing.dev/producers` separates names with commas and spaces.
        if id.is_empty() || id.len() > 200 || id.chars().any(|ch| ch.is_control() || ch.is_whitespace() || ch == ',') {
            return Err(format!(
                "{at}: `id` must be the identity provider's client id (`client_id` or `azp` of its tokens), \
                 1 to 200 printable characters without spaces or commas"
            ));
        }
        if out.iter().any(|(known, _)| known == id) {
            return Err(format!(
                "{at}: client `{id}` is listed twice; merge its scopes into one entry"
            ));
        }
        let named: Vec<&str> = c.scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
        if named.is_empty() {
            return Err(format!(
                "{at}: `scopes` must name the teams (team-payments) or components \
                 (component:default/checkout) it reports on"
            ));
        }
        if named.len() > MAX_TOKEN_SCOPES {
            return Err(format!(
                "{at}: at most {MAX_TOKEN_SCOPES} scopes; scope it to teams instead of components"
            ));
        }
        let mut scopes = Vec::with_capacity(named.len());
        for scope in named {
            scopes.push(scope_key(scope).ok_or_else(|| {
                format!(
                    "{at}: scope `{}` names neither a team (team-payments, group:default/team-payments) \
                     nor a component (component:default/checkout)",
                    scope.escape_debug()
                )
            })?);
        }
        scopes.sort();
        scopes.dedup();
        out.push((id.to_owned(), scopes));
    }
    Ok(out)
}

/// The reference key a scope names: a component (`component:<namespace>/<name>`) or a team (as
/// [`team_ref`] reads it). Whether it exists is not checked: the catalog may be imported after
/// start, and a scope naming nothing grants nothing.
fn scope_key(scope: &str) -> Option<String> {
    let lower = scope.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("component:") {
        let (ns, name) = rest.split_once('/')?;
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        return (ok(ns) && ok(name)).then_some(lower);
    }
    team_ref(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_files_list_clients_with_scopes() {
        let toml = "[[client]]\nid = \"luigi-orders\"\nscopes = [\"Team-Data\", \"component:default/orders-etl\"]\n";
        let json = r#"{"client": [{"id": "luigi-orders", "scopes": ["group:default/team-data", "component:default/orders-etl"]}]}"#;
        let expected = vec![(
            "luigi-orders".to_owned(),
            vec![
                "component:default/orders-etl".to_owned(),
                "group:default/team-data".to_owned(),
            ],
        )];
        assert_eq!(parse_clients(toml, Some("toml")).unwrap(), expected);
        assert_eq!(parse_clients(json, Some("json")).unwrap(), expected);
        let clients = ProducerClients::new("https://bearing.example", expected);
        assert_eq!(clients.scopes("luigi-orders").map(<[String]>::len), Some(2));
        assert!(clients.scopes("other").is_none());
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let cases = [
            ("[[client]]\nid = \"a\"\n", "line 1: client 1 (`a`): `scopes` must name"),
            (
                "[[client]]\nid = \"a\"\nscopes = [\"t\"]\n\n[[client]]\nid = \"a b\"\nscopes = [\"t\"]\n",
                "line 5: client 2",
            ),
            (
                "[[client]]\nid = \"a\"\nscopes = [\"t\"]\n[[client]]\nid = \"a\"\nscopes = [\"u\"]\n",
                "listed twice",
            ),
            (
                "[[client]]\nid = \"a\"\nscopes = [\"api:default/x\"]\n",
                "names neither",
            ),
            ("[[client]]\nid = \"a\"\nscopes = [\"component:x\"]\n", "names neither"),
            ("[[client]]\nid = \"a\"\nsecret = \"s\"\n", "unknown field"),
            ("[[client]\n", "line 1"),
        ];
        for (text, want) in cases {
            let err = parse_clients(text, Some("toml")).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let err = parse_clients(r#"{"client": [{"id": "", "scopes": ["t"]}]}"#, Some("json")).unwrap_err();
        assert!(err.starts_with("client 1 (``): `id` must be"), "{err}");
        assert!(parse_clients("{}", Some("yaml"))
            .unwrap_err()
            .contains("*.json or *.toml"));
    }
}
