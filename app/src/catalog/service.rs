//! Catalog reads: turns rows into the wire types pages and the API show. Every read checks
//! that its caller may read the catalog, whoever calls it (a page, a server function, a JSON
//! or Backstage handler). Validation of list parameters lives here, so pages and the HTTP API
//! enforce the same limits.

pub mod backstage;
mod entity;

use std::collections::{HashMap, HashSet};

use bearing_catalog::RelationType;
use sqlx::PgPool;

use super::repo::{self, SummaryRow};
use super::*;
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;

/// Largest page a caller may ask for.
pub const MAX_LIMIT: i64 = 500;

/// Normalises a list query: blank filters dropped, limits checked.
pub fn normalise(mut q: ListQuery) -> Result<ListQuery, AppError> {
    fn blank(v: &mut Option<String>) {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *v = None;
        }
        if let Some(s) = v {
            *s = s.trim().to_owned();
        }
    }
    for v in [
        &mut q.kind,
        &mut q.entity_type,
        &mut q.owner,
        &mut q.lifecycle,
        &mut q.tag,
        &mut q.q,
    ] {
        blank(v);
    }
    if let Some(kind) = &q.kind {
        if !KINDS.iter().any(|(slug, _)| slug.eq_ignore_ascii_case(kind)) {
            return Err(AppError::invalid(
                "kind",
                format!("`{kind}` is not a kind; use one of component, api, system, domain, resource, group, user, location"),
            ));
        }
    }
    if !(1..=MAX_LIMIT).contains(&q.limit) {
        return Err(AppError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {}", q.limit),
        ));
    }
    if q.offset < 0 {
        return Err(AppError::invalid("offset", "must not be negative"));
    }
    if q.q.as_deref().is_some_and(|s| s.len() > 200) {
        return Err(AppError::invalid("q", "search text is limited to 200 characters"));
    }
    Ok(q)
}

/// One page of the catalog.
pub async fn list(ctx: &ServerCtx, caller: &Caller, q: ListQuery) -> Result<EntityPageResult, AppError> {
    Ok(catalog_view(ctx, caller, q).await?.page)
}

/// A page of the catalog plus the facet counts for its side bar, from the in-memory index
/// ([`super::list_index`]): each facet is counted without its own filter, so the side bar
/// offers the alternatives.
pub async fn catalog_view(ctx: &ServerCtx, caller: &Caller, q: ListQuery) -> Result<CatalogView, AppError> {
    caller.require_reader(ctx)?;
    let q = normalise(q)?;
    let built = ctx.list_index.get(ctx).await?;
    let page = built.index.query(&bearing_catalog_index::Query {
        kind: q.kind.as_deref(),
        entity_type: q.entity_type.as_deref(),
        owner: q.owner.as_deref(),
        lifecycle: q.lifecycle.as_deref(),
        tag: q.tag.as_deref(),
        text: q.q.as_deref(),
        sort: match q.sort {
            Sort::Relevance => bearing_catalog_index::Sort::Relevance,
            Sort::Name => bearing_catalog_index::Sort::Name,
            Sort::NameDesc => bearing_catalog_index::Sort::NameDesc,
            Sort::Kind => bearing_catalog_index::Sort::Kind,
            Sort::Updated => bearing_catalog_index::Sort::Updated,
        },
        // Both were checked by `normalise` (0..; 1..=MAX_LIMIT).
        offset: usize::try_from(q.offset).unwrap_or(usize::MAX),
        limit: usize::try_from(q.limit).unwrap_or(0),
    })?;
    let counts = |values: Vec<(String, usize)>| {
        values
            .into_iter()
            .map(|(value, count)| FacetCount {
                value,
                count: i64::try_from(count).unwrap_or(i64::MAX),
            })
            .collect()
    };
    Ok(CatalogView {
        page: EntityPageResult {
            items: page.items.into_iter().cloned().collect(),
            total: i64::try_from(page.total).unwrap_or(i64::MAX),
        },
        facets: Facets {
            kind: counts(page.facets.kind),
            entity_type: counts(page.facets.entity_type),
            owner: counts(page.facets.owner),
            lifecycle: counts(page.facets.lifecycle),
            tag: counts(page.facets.tag),
        },
    })
}

/// The home page: counts per kind and the latest changes.
pub async fn home(ctx: &ServerCtx, caller: &Caller) -> Result<HomeView, AppError> {
    caller.require_reader(ctx)?;
    let built = ctx.list_index.get(ctx).await?;
    let recent = built.index.query(&bearing_catalog_index::Query {
        sort: bearing_catalog_index::Sort::Updated,
        limit: 10,
        ..Default::default()
    })?;
    let counts: HashMap<&str, usize> = recent.facets.kind.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    Ok(HomeView {
        counts: KINDS
            .iter()
            .map(|(slug, _)| FacetCount {
                value: (*slug).to_owned(),
                count: counts.get(*slug).map_or(0, |n| i64::try_from(*n).unwrap_or(i64::MAX)),
            })
            .collect(),
        recent: recent.items.into_iter().cloned().collect(),
        orphaned: i64::try_from(built.index.orphaned()).unwrap_or(i64::MAX),
    })
}

/// The reference key for URL parts, validated.
pub fn ref_key(kind: &str, namespace: &str, name: &str) -> Result<String, AppError> {
    let kind: bearing_catalog::Kind = kind
        .parse()
        .map_err(|e: bearing_catalog::UnknownKind| AppError::invalid("kind", e.to_string()))?;
    bearing_catalog::EntityRef::new(kind, namespace, name)
        .map(|r| r.key())
        .map_err(|e| AppError::invalid("entity reference", e.to_string()))
}

/// Relations of one entity as seen from it, with resolution against the catalog.
async fn relation_views(pool: &PgPool, key: &str) -> Result<Vec<RelationView>, AppError> {
    let rows = repo::relations_of(pool, key).await?;
    let mut seen = HashSet::new();
    let mut views: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let Some((name, other)) = r.seen_from(key) else {
            continue;
        };
        let (name, other) = (name.to_owned(), other.to_owned());
        if seen.insert((name.clone(), other.clone())) {
            views.push((name, other));
        }
    }
    let others: Vec<String> = views.iter().map(|(_, o)| o.clone()).collect();
    let titles: HashMap<String, Option<String>> = repo::existing_titles(pool, &others).await?.into_iter().collect();
    Ok(views
        .into_iter()
        .map(|(relation, target)| RelationView {
            resolved: titles.contains_key(&target),
            target_title: titles.get(&target).cloned().flatten(),
            relation,
            target,
        })
        .collect())
}

/// Only http, https and mailto links are rendered as links.
pub fn is_safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["http://", "https://", "mailto:"].iter().any(|p| lower.starts_with(p))
}

/// One entity as the JSON API shows it.
pub async fn entity(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Entity, AppError> {
    caller.require_reader(ctx)?;
    let key = ref_key(kind, namespace, name)?;
    let pool = ctx.pool.clone();
    ctx.cache
        .get_or_load(key.clone(), async move { load_entity(&pool, key).await })
        .await
}

async fn load_entity(pool: &PgPool, key: String) -> Result<Entity, AppError> {
    let row = repo::find_by_ref(pool, &key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("entity {key}")))?;
    let relations = relation_views(pool, &key).await?;
    Ok(entity::entity(row, relations))
}

/// Everything the entity page shows.
pub async fn entity_detail(
    ctx: &ServerCtx,
    caller: &Caller,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<EntityDetail, AppError> {
    caller.require_reader(ctx)?;
    let key = ref_key(kind, namespace, name)?;
    ctx.cache
        .get_or_load(key.clone(), {
            let pool = ctx.pool.clone();
            async move { load_entity_detail(&pool, key).await }
        })
        .await
}

async fn load_entity_detail(pool: &PgPool, key: String) -> Result<EntityDetail, AppError> {
    let found = load_entity(pool, key.clone()).await?;
    let group = if found.summary.kind == "group" {
        Some(group_view(pool, &key).await?)
    } else {
        None
    };
    Ok(entity::detail(found, group))
}

/// Members, child teams, owned entities and coverage of a Group.
async fn group_view(pool: &PgPool, key: &str) -> Result<GroupView, AppError> {
    let (members, children, owned, cov) = tokio::try_join!(
        repo::sources_related_to(pool, RelationType::MemberOf.as_str(), key),
        repo::sources_related_to(pool, RelationType::ChildOf.as_str(), key),
        repo::sources_related_to(pool, RelationType::OwnedBy.as_str(), key),
        repo::coverage_for_owner(pool, key),
    )?;
    let conv = |rows: Vec<SummaryRow>| rows.into_iter().map(EntitySummary::from).collect::<Vec<_>>();
    Ok(GroupView {
        members: conv(members),
        children: conv(children),
        owned: conv(owned),
        coverage: Coverage {
            components: cov.0,
            with_description: cov.1,
            with_lifecycle: cov.2,
            with_system: cov.3,
            with_links: cov.4,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_checks_limits_and_kinds() {
        let q = ListQuery {
            limit: 20,
            kind: Some(" ".into()),
            q: Some(" pay ".into()),
            ..Default::default()
        };
        let q = normalise(q).unwrap();
        assert_eq!(q.kind, None);
        assert_eq!(q.q.as_deref(), Some("pay"));
        assert!(normalise(ListQuery {
            limit: 0,
            ..Default::default()
        })
        .is_err());
        assert!(normalise(ListQuery {
            limit: 501,
            ..Default::default()
        })
        .is_err());
        assert!(normalise(ListQuery {
            limit: 5,
            kind: Some("widget".into()),
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn only_safe_schemes_are_links() {
        assert!(is_safe_url("https://x"));
        assert!(is_safe_url("mailto:a@b"));
        assert!(!is_safe_url("javascript:alert(1)"));
        assert!(!is_safe_url(" JaVaScRiPt:alert(1)"));
        assert!(!is_safe_url("data:text/html,x"));
    }
}
