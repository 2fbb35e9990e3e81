//! Parsing Backstage's query parameters (`filter`, `fields`, `orderField`, `cursor`, ...) and
//! projecting entities onto `fields`.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{Condition, Filter, Order};
use crate::error::AppError;

/// Malformed parameters: Backstage answers them as an `InputError` (400).
fn input(message: impl Into<String>) -> AppError {
    AppError::BadRequest(message.into())
}

/// Query-string pairs, decoded (`+` as space, percent escapes).
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// Default and largest page sizes.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 1000;

/// Parses repeated `filter` parameters: `kind=component,spec.type=service` (AND within one,
/// OR across several). A key without `=` means "has the key".
pub fn parse_filter(values: &[String]) -> Result<Filter, AppError> {
    let mut groups = Vec::new();
    for v in values {
        let mut group: Vec<Condition> = Vec::new();
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (part, None),
            };
            if key.is_empty() {
                return Err(input(format!("invalid filter `{part}`: the key is empty")));
            }
            let key = key.to_ascii_lowercase();
            // Repeating a key inside one filter means any of its values.
            match (group.iter_mut().find(|c| c.key == key), value) {
                (Some(c), Some(v)) => c.values.push(v.to_lowercase()),
                (Some(_), None) => {}
                (None, v) => group.push(Condition {
                    key,
                    values: v.map(|v| vec![v.to_lowercase()]).unwrap_or_default(),
                }),
            }
        }
        if !group.is_empty() {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// The `filter` parameters of a query string.
pub fn filters_from_query(q: &str) -> Result<Filter, AppError> {
    let values: Vec<String> = form_pairs(q)
        .into_iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| v)
        .collect();
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
    pub fn decode(s: &str) -> Result<Self, AppError> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| input("malformed cursor; start again without one"))
    }
}

/// Parameters of `GET /entities/by-query`.
pub struct QueryParams {
    pub cursor: QueryCursor,
    pub limit: i64,
    pub fields: Vec<String>,
}

fn limit_of(pairs: &[(String, String)]) -> Result<i64, AppError> {
    match pairs.iter().find(|(k, _)| k == "limit") {
        None => Ok(DEFAULT_LIMIT),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_LIMIT).contains(n))
            .ok_or_else(|| input(format!("invalid limit `{v}`: use a number from 0 to {MAX_LIMIT}"))),
    }
}

/// The query string `q` with its `offset` replaced by `offset` (for the next page's link).
pub fn with_offset(q: &str, offset: i64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_pairs(q).iter().filter(|(k, _)| k != "offset") {
        out.append_pair(k, v);
    }
    out.append_pair("offset", &offset.to_string());
    out.finish()
}

fn offset_of(pairs: &[(String, String)]) -> Result<i64, AppError> {
    match pairs.iter().find(|(k, _)| k == "offset") {
        None => Ok(0),
        Some((_, v)) => v
            .parse()
            .ok()
            .filter(|n: &i64| *n >= 0)
            .ok_or_else(|| input(format!("invalid offset `{v}`: use a number from 0"))),
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

/// `orderField=field,asc|desc` (by-query).
fn order_fields_of(pairs: &[(String, String)]) -> Result<Vec<Order>, AppError> {
    order_of(pairs, "orderField", |v| v.split_once(',').unwrap_or((v, "asc")))
}

/// `order=asc|desc:field` (the older `/entities` listing).
fn legacy_order_of(pairs: &[(String, String)]) -> Result<Vec<Order>, AppError> {
    order_of(pairs, "order", |v| match v.split_once(':') {
        Some((dir, field)) => (field, dir),
        None => (v, "asc"),
    })
}

fn order_of(
    pairs: &[(String, String)],
    key: &str,
    split: impl Fn(&str) -> (&str, &str),
) -> Result<Vec<Order>, AppError> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| {
            let (field, dir) = split(v);
            match dir.trim() {
                "asc" => Ok(Order {
                    field: field.trim().to_ascii_lowercase(),
                    desc: false,
                }),
                "desc" => Ok(Order {
                    field: field.trim().to_ascii_lowercase(),
                    desc: true,
                }),
                other => Err(input(format!("invalid order `{other}` in `{v}`: use asc or desc"))),
            }
        })
        .collect()
}

impl QueryParams {
    /// Parses a query string. With `cursor`, the cursor's filter and order win, as in Backstage.
    pub fn parse(q: &str) -> Result<Self, AppError> {
        let pairs = form_pairs(q);
        let limit = limit_of(&pairs)?;
        let fields = fields_of(&pairs);
        let cursor = match pairs.iter().find(|(k, _)| k == "cursor") {
            Some((_, c)) => QueryCursor::decode(c)?,
            None => {
                let term = pairs
                    .iter()
                    .find(|(k, _)| k == "fullTextFilterTerm")
                    .map(|(_, v)| v.trim().to_owned());
                let term_fields: Vec<String> = pairs
                    .iter()
                    .filter(|(k, _)| k == "fullTextFilterFields")
                    .flat_map(|(_, v)| v.split(',').map(|f| f.trim().to_ascii_lowercase()).collect::<Vec<_>>())
                    .filter(|f| !f.is_empty())
                    .collect();
                let order = order_fields_of(&pairs)?;
                // Backstage searches the first sort field when no fields are named (and the
                // uid, i.e. effectively nothing, when there is no sort field either).
                let term_fields = if term_fields.is_empty() {
                    vec![order
                        .first()
                        .map_or_else(|| "metadata.uid".to_owned(), |o| o.field.clone())]
                } else {
                    term_fields
                };
                QueryCursor {
                    filter: filters_from_query(q)?,
                    order: order_fields_of(&pairs)?,
                    full_text: term.filter(|t| !t.is_empty()).map(|t| (t, term_fields)),
                    offset: offset_of(&pairs)?,
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
    pub fn parse(q: &str) -> Result<Self, AppError> {
        let pairs = form_pairs(q);
        let offset = offset_of(&pairs)?;
        let limit = match pairs.iter().any(|(k, _)| k == "limit") {
            true => Some(limit_of(&pairs)?)
                .filter(|l| *l > 0)
                .ok_or_else(|| input("limit must be at least 1"))?,
            // Backstage answers everything without a limit; a catalog of 100,000 entities
            // would then be one response. Pages stop at the server maximum instead, and the
            // answer links to the next page (see [`super::list`]).
            false => MAX_LIMIT,
        };
        Ok(ListParams {
            filter: filters_from_query(q)?,
            order: legacy_order_of(&pairs)?,
            fields: fields_of(&pairs),
            offset,
            limit,
        })
    }
}

/// Keeps only the dotted `fields` of an entity (all of it when `fields` is empty). As in
/// Backstage, path parts are joined until a key matches, so
/// `metadata.annotations.backstage.io/kubernetes-id` reaches a key containing dots.
pub fn project(entity: serde_json::Value, fields: &[String]) -> serde_json::Value {
    if fields.is_empty() {
        return entity;
    }
    let mut out = serde_json::Map::new();
    for f in fields {
        let parts: Vec<&str> = f.split('.').collect();
        copy_path(&entity, &parts, &mut out);
    }
    serde_json::Value::Object(out)
}

/// Copies the value at `parts` (joining parts into dotted keys where needed) from `src` into `dst`.
fn copy_path(src: &serde_json::Value, parts: &[&str], dst: &mut serde_json::Map<String, serde_json::Value>) {
    let Some(map) = src.as_object() else { return };
    for take in 1..=parts.len() {
        let key = parts[..take].join(".");
        let Some(value) = map.get(&key) else { continue };
        if take == parts.len() {
            dst.insert(key, value.clone());
        } else if let Some(child) = dst
            .entry(key)
            .or_insert_with(|| serde_json::Value::Object(Default::default()))
            .as_object_mut()
        {
            copy_path(value, &parts[take..], child);
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_or_and_exists() {
        let f = parse_filter(&[
            "kind=Component,spec.type=service".into(),
            "metadata.annotations.x".into(),
        ])
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0][0],
            Condition {
                key: "kind".into(),
                values: vec!["component".into()]
            }
        );
        assert_eq!(f[1][0].values, Vec::<String>::new());
        let f = parse_filter(&["kind=api,kind=component".into()]).unwrap();
        assert_eq!(f[0][0].values, vec!["api".to_owned(), "component".to_owned()]);
        assert!(parse_filter(&["=x".into()]).is_err());
    }

    #[test]
    fn query_params_and_cursor() {
        let p = QueryParams::parse(
            "filter=kind%3Dcomponent&limit=5&orderField=metadata.name,desc&fields=metadata.name,kind",
        )
        .unwrap();
        assert_eq!(p.limit, 5);
        assert_eq!(
            p.cursor.order,
            vec![Order {
                field: "metadata.name".into(),
                desc: true
            }]
        );
        assert_eq!(p.fields, vec!["metadata.name", "kind"]);
        let c = QueryCursor {
            offset: 5,
            ..p.cursor.clone()
        };
        let again = QueryParams::parse(&format!("cursor={}&limit=5", c.encode())).unwrap();
        assert_eq!(again.cursor, c);
        assert!(QueryParams::parse("limit=-1").is_err());
        assert!(QueryParams::parse("cursor=zzz").is_err());
        let p = QueryParams::parse("offset=5&fullTextFilterTerm=x&orderField=metadata.name,asc").unwrap();
        assert_eq!(p.cursor.offset, 5);
        assert_eq!(
            p.cursor.full_text,
            Some(("x".to_owned(), vec!["metadata.name".to_owned()]))
        );
        let l = ListParams::parse("order=desc:metadata.name&limit=3").unwrap();
        assert_eq!(
            l.order,
            vec![Order {
                field: "metadata.name".into(),
                desc: true
            }]
        );
        assert!(ListParams::parse("limit=0").is_err());
    }

    #[test]
    fn projection_keeps_requested_paths() {
        let e = serde_json::json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"type": "service"}});
        let p = project(e, &["metadata.name".into(), "spec.type".into(), "nope.x".into()]);
        assert_eq!(
            p,
            serde_json::json!({"metadata": {"name": "a"}, "spec": {"type": "service"}})
        );
        let e = serde_json::json!({"metadata": {"annotations": {"backstage.io/kubernetes-id": "k", "x": "y"}}});
        let p = project(e, &["metadata.annotations.backstage.io/kubernetes-id".into()]);
        assert_eq!(
            p,
            serde_json::json!({"metadata": {"annotations": {"backstage.io/kubernetes-id": "k"}}})
        );
    }
}
