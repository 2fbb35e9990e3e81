//! Parsing Backstage's query parameters (`filter`, `fields`, `orderField`, `cursor`, ...) and
//! projecting entities onto `fields`.

use app::catalog::repo::backstage::{Condition, Filter, Order};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{form_pairs, BackstageError};

/// Default and largest page sizes.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 1000;

/// Parses repeated `filter` parameters: `kind=component,spec.type=service` (AND within one,
/// OR across several). A key without `=` means "has the key".
pub fn parse_filter(values: &[String]) -> Result<Filter, BackstageError> {
    let mut groups = Vec::new();
    for v in values {
        let mut group: Vec<Condition> = Vec::new();
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part, None),
            };
            if key.is_empty() {
                return Err(BackstageError::input(format!("invalid filter `{part}`: the key is empty")));
            }
            let key = key.to_ascii_lowercase();
            // Repeating a key inside one filter means any of its values.
            match (group.iter_mut().find(|c| c.key == key), value) {
                (Some(c), Some(v)) => c.values.push(v.to_lowercase()),
                (Some(_), None) => {}
                (None, v) => group.push(Condition { key, values: v.map(|v| vec![v.to_lowercase()]).unwrap_or_default() }),
            }
        }
        if !group.is_empty() {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// The `filter` parameters of a query string.
pub fn filters_from_query(q: &str) -> Result<Filter, BackstageError> {
    let values: Vec<String> = form_pairs(q).into_iter().filter(|(k, _)| k == "filter").map(|(_, v)| v).collect();
    parse_filter(&values)
}

/// The state of a `by-query` listing, carried in its opaque cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryCursor {
    pub filter: Filter,
    pub order: Vec<Order>,
    /// Term and fields to search in (empty: all).
    pub full_text: Option<(String, Vec<String>)>,
    pub offset: i64,
}

impl QueryCursor {
    /// Opaque form for `pageInfo.nextCursor`.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor made by [`QueryCursor::encode`].
    pub fn decode(s: &str) -> Result<Self, BackstageError> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| BackstageError::input("malformed cursor; start again without one"))
    }
}

/// Parameters of `GET /entities/by-query`.
pub struct QueryParams {
    pub cursor: QueryCursor,
    pub limit: i64,
    pub fields: Vec<String>,
}

fn limit_of(pairs: &[(String, String)]) -> Result<i64, BackstageError> {
    match pairs.iter().find(|(k, _)| k == "limit") {
        None => Ok(DEFAULT_LIMIT),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_LIMIT).contains(n))
            .ok_or_else(|| BackstageError::input(format!("invalid limit `{v}`: use a number from 0 to {MAX_LIMIT}"))),
    }
}

fn fields_of(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == "fields")
        .flat_map(|(_, v)| v.split(',').map(|f| f.trim().to_owned()).collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect()
}

fn order_of(pairs: &[(String, String)], key: &str) -> Result<Vec<Order>, BackstageError> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| {
            let (field, dir) = v.split_once(',').unwrap_or((v.as_str(), "asc"));
            match dir.trim() {
                "asc" => Ok(Order { field: field.trim().to_ascii_lowercase(), desc: false }),
                "desc" => Ok(Order { field: field.trim().to_ascii_lowercase(), desc: true }),
                other => Err(BackstageError::input(format!("invalid order `{other}` in `{v}`: use asc or desc"))),
            }
        })
        .collect()
}

impl QueryParams {
    /// Parses a query string. With `cursor`, the cursor's filter and order win, as in Backstage.
    pub fn parse(q: &str) -> Result<Self, BackstageError> {
        let pairs = form_pairs(q);
        let limit = limit_of(&pairs)?;
        let fields = fields_of(&pairs);
        let cursor = match pairs.iter().find(|(k, _)| k == "cursor") {
            Some((_, c)) => QueryCursor::decode(c)?,
            None => {
                let term = pairs.iter().find(|(k, _)| k == "fullTextFilterTerm").map(|(_, v)| v.trim().to_owned());
                let term_fields = pairs
                    .iter()
                    .filter(|(k, _)| k == "fullTextFilterFields")
                    .flat_map(|(_, v)| v.split(',').map(|f| f.trim().to_ascii_lowercase()).collect::<Vec<_>>())
                    .filter(|f| !f.is_empty())
                    .collect();
                QueryCursor {
                    filter: filters_from_query(q)?,
                    order: order_of(&pairs, "orderField")?,
                    full_text: term.filter(|t| !t.is_empty()).map(|t| (t, term_fields)),
                    offset: 0,
                }
            }
        };
        Ok(QueryParams { cursor, limit, fields })
    }
}

/// Parameters of the older `GET /entities` listing.
pub struct ListParams {
    pub filter: Filter,
    pub order: Vec<Order>,
    pub fields: Vec<String>,
    pub offset: i64,
    pub limit: i64,
}

impl ListParams {
    /// Parses `filter`, `fields`, `order`, `offset`, `limit`.
    pub fn parse(q: &str) -> Result<Self, BackstageError> {
        let pairs = form_pairs(q);
        let offset = match pairs.iter().find(|(k, _)| k == "offset") {
            None => 0,
            Some((_, v)) => v.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| BackstageError::input(format!("invalid offset `{v}`")))?,
        };
        let limit = if pairs.iter().any(|(k, _)| k == "limit") { limit_of(&pairs)? } else { MAX_LIMIT * 100 };
        Ok(ListParams { filter: filters_from_query(q)?, order: order_of(&pairs, "order")?, fields: fields_of(&pairs), offset, limit })
    }
}

/// Keeps only the dotted `fields` of an entity (all of it when `fields` is empty).
pub fn project(entity: serde_json::Value, fields: &[String]) -> serde_json::Value {
    if fields.is_empty() {
        return entity;
    }
    let mut out = serde_json::Value::Object(Default::default());
    for f in fields {
        let path: Vec<&str> = f.split('.').collect();
        let mut src = &entity;
        let mut found = true;
        for p in &path {
            match src.get(p) {
                Some(v) => src = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        let mut dst = &mut out;
        for (i, p) in path.iter().enumerate() {
            let Some(map) = dst.as_object_mut() else { break };
            if i + 1 == path.len() {
                map.insert((*p).to_owned(), src.clone());
                break;
            }
            dst = map.entry((*p).to_owned()).or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_or_and_exists() {
        let f = parse_filter(&["kind=Component,spec.type=service".into(), "metadata.annotations.x".into()]).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0][0], Condition { key: "kind".into(), values: vec!["component".into()] });
        assert_eq!(f[1][0].values, Vec::<String>::new());
        let f = parse_filter(&["kind=api,kind=component".into()]).unwrap();
        assert_eq!(f[0][0].values, vec!["api".to_owned(), "component".to_owned()]);
        assert!(parse_filter(&["=x".into()]).is_err());
    }

    #[test]
    fn query_params_and_cursor() {
        let p = QueryParams::parse("filter=kind%3Dcomponent&limit=5&orderField=metadata.name,desc&fields=metadata.name,kind").unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(p.cursor.order, vec![Order { field: "metadata.name".into(), desc: true }]);
        assert_eq!(p.fields, vec!["metadata.name", "kind"]);
        let c = QueryCursor { offset: 5, ..p.cursor.clone() };
        let again = QueryParams::parse(&format!("cursor={}&limit=5", c.encode())).unwrap();
        assert_eq!(again.cursor, c);
        assert!(QueryParams::parse("limit=-1").is_err());
        assert!(QueryParams::parse("cursor=zzz").is_err());
    }

    #[test]
    fn projection_keeps_requested_paths() {
        let e = serde_json::json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"type": "service"}});
        let p = project(e, &["metadata.name".into(), "spec.type".into(), "nope.x".into()]);
        assert_eq!(p, serde_json::json!({"metadata": {"name": "a"}, "spec": {"type": "service"}}));
    }
}
