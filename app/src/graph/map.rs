//! `/graph`: the map of a team's or a system's services (optionally in one mesh), or of a whole
//! mesh, with every edge's class from [`crate::policy::edges`] (nothing is classified here).
//! Each service checks that the caller may read before it touches anything.

pub mod draw;

use std::collections::HashSet;

use super::{map_param, repo, MapChoice, MapChoices, MapQuery, MapView, MAX_TABLE_ROWS};
use crate::auth::guard::Caller;
use crate::catalog::repo as catalog_repo;
use crate::catalog::service::ref_key;
use crate::error::AppError;
use crate::policy::edges::{self, parse_classes, team_ref};
use crate::policy::{class_counts, Edge, EdgeFilter};
use crate::ssr::ServerCtx;
use crate::ui::href_with;

/// Longest team, system or mesh name a query may give (Kubernetes names are at most 253).
const MAX_NAME: usize = 256;
/// Longest `class=` (every class, comma-separated, is about 110 characters).
const MAX_CLASSES: usize = 512;

/// The map `query` asks for; none when it names nothing to draw (the page shows the pickers).
pub async fn map(ctx: &ServerCtx, caller: &Caller, query: MapQuery) -> Result<Option<MapView>, AppError> {
    caller.require_reader(ctx)?;
    let q = query.normalised();
    let (mesh, class) = (q.mesh.as_deref(), q.class.as_deref());
    match (q.team.as_deref(), q.system.as_deref(), mesh) {
        (Some(_), Some(_), _) => Err(AppError::invalid(
            "system",
            "give a team or a system, not both (a mesh may narrow either)",
        )),
        (Some(team), None, _) => team_map(ctx, caller, team, mesh, class).await.map(Some),
        (None, Some(system), _) => system_map(ctx, caller, system, mesh, class).await.map(Some),
        (None, None, Some(mesh)) => mesh_map(ctx, caller, mesh, class).await.map(Some),
        (None, None, None) => {
            bounded("class", class, MAX_CLASSES)?;
            parse_classes(class)?;
            Ok(None)
        }
    }
}

/// The services of the components `team` owns, their callers and their destinations.
pub async fn team_map(
    ctx: &ServerCtx,
    caller: &Caller,
    team: &str,
    mesh: Option<&str>,
    class: Option<&str>,
) -> Result<MapView, AppError> {
    caller.require_reader(ctx)?;
    bounded("team", Some(team), MAX_NAME)?;
    let key = team_ref(team)?;
    let checked = check(ctx, &key, "team", team, mesh, class).await?;
    let components = crate::mesh::repo::components_of_owner(&ctx.pool, &key).await?;
    let filter = EdgeFilter {
        team: Some(key.clone()),
        mesh: mesh.map(str::to_owned),
        ..EdgeFilter::default()
    };
    let found = edges::matching(ctx, caller, &filter).await?;
    let csv = href_with(
        "/api/v1/mesh/edges",
        &[
            ("team", Some(key.clone())),
            ("mesh", mesh.map(str::to_owned)),
            ("class", class.map(str::to_owned)),
            ("format", Some("csv".to_owned())),
        ],
    );
    let title = titled("Team", &key, mesh);
    Ok(finish(
        title,
        found,
        Some(components.into_iter().collect()),
        checked,
        Some(csv),
    ))
}

/// The services of the components that are part of `system`, their callers and destinations.
pub async fn system_map(
    ctx: &ServerCtx,
    caller: &Caller,
    system: &str,
    mesh: Option<&str>,
    class: Option<&str>,
) -> Result<MapView, AppError> {
    caller.require_reader(ctx)?;
    bounded("system", Some(system), MAX_NAME)?;
    let key = entity_key("system", system)?;
    let checked = check(ctx, &key, "system", system, mesh, class).await?;
    let components = repo::components_of_system(&ctx.pool, &key).await?;
    let mut found = edges::around(ctx, caller, &components).await?;
    found.retain(|e| mesh.is_none_or(|m| e.mesh == m));
    let title = titled("System", &key, mesh);
    // The edges API selects by team, not by system: no CSV link.
    Ok(finish(
        title,
        found,
        Some(components.into_iter().collect()),
        checked,
        None,
    ))
}

/// Every edge of one mesh.
pub async fn mesh_map(ctx: &ServerCtx, caller: &Caller, mesh: &str, class: Option<&str>) -> Result<MapView, AppError> {
    caller.require_reader(ctx)?;
    bounded("mesh", Some(mesh), MAX_NAME)?;
    bounded("class", class, MAX_CLASSES)?;
    let classes = parse_classes(class)?;
    known_mesh(ctx, mesh).await?;
    let filter = EdgeFilter {
        mesh: Some(mesh.to_owned()),
        ..EdgeFilter::default()
    };
    let found = edges::matching(ctx, caller, &filter).await?;
    let csv = href_with(
        "/api/v1/mesh/edges",
        &[
            ("mesh", Some(mesh.to_owned())),
            ("class", class.map(str::to_owned)),
            ("format", Some("csv".to_owned())),
        ],
    );
    Ok(finish(format!("Mesh {mesh}"), found, None, classes, Some(csv)))
}

/// The teams, systems and meshes that exist, for the pickers.
pub async fn choices(ctx: &ServerCtx, caller: &Caller) -> Result<MapChoices, AppError> {
    caller.require_reader(ctx)?;
    let picker = |kind: &str, rows: Vec<(String, String, Option<String>)>| -> Vec<MapChoice> {
        rows.into_iter()
            .map(|(namespace, name, title)| MapChoice {
                label: title.filter(|t| !t.is_empty()).unwrap_or_else(|| name.clone()),
                value: map_param(kind, &namespace, &name),
            })
            .collect()
    };
    let mut meshes: Vec<String> = crate::mesh::repo::list_meshes(&ctx.pool)
        .await?
        .into_iter()
        .map(|m| m.mesh)
        .collect();
    meshes.sort();
    meshes.dedup();
    Ok(MapChoices {
        teams: picker("group", repo::names_of_kind(&ctx.pool, "group").await?),
        systems: picker("system", repo::names_of_kind(&ctx.pool, "system").await?),
        meshes: meshes
            .into_iter()
            .map(|m| MapChoice {
                label: m.clone(),
                value: m,
            })
            .collect(),
    })
}

/// `commerce`, `ns/commerce` or `system:ns/commerce` as the reference key of a `kind`.
fn entity_key(kind: &str, text: &str) -> Result<String, AppError> {
    let rest = text.strip_prefix(&format!("{kind}:")).unwrap_or(text);
    if rest.contains(':') {
        return Err(AppError::invalid(
            kind,
            format!("must name a {kind}, e.g. commerce or {kind}:default/commerce"),
        ));
    }
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    ref_key(kind, namespace, name)
}

/// The checks every focused map makes: the entity exists, the mesh (if any) exists, the
/// classes are known. Returns the classes.
async fn check(
    ctx: &ServerCtx,
    key: &str,
    what: &str,
    given: &str,
    mesh: Option<&str>,
    class: Option<&str>,
) -> Result<Option<Vec<&'static str>>, AppError> {
    if let Some(m) = mesh {
        bounded("mesh", Some(m), MAX_NAME)?;
    }
    bounded("class", class, MAX_CLASSES)?;
    let classes = parse_classes(class)?;
    if !catalog_repo::entity_exists(&ctx.pool, key).await? {
        return Err(AppError::NotFound(format!("{what} `{given}`")));
    }
    if let Some(m) = mesh {
        known_mesh(ctx, m).await?;
    }
    Ok(classes)
}

async fn known_mesh(ctx: &ServerCtx, mesh: &str) -> Result<(), AppError> {
    let meshes = crate::mesh::repo::list_meshes(&ctx.pool).await?;
    if meshes.iter().any(|m| m.mesh == mesh) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("mesh `{mesh}`")))
    }
}

/// A clear 422 for a value longer than `max` characters, before it is used anywhere.
fn bounded(field: &str, value: Option<&str>, max: usize) -> Result<(), AppError> {
    match value {
        Some(v) if v.chars().count() > max => Err(AppError::invalid(
            field,
            format!("must be at most {max} characters, got {}", v.chars().count()),
        )),
        _ => Ok(()),
    }
}

fn titled(what: &str, key: &str, mesh: Option<&str>) -> String {
    let name = crate::catalog::split_ref(key).map_or(key, |(_, ns, name)| if ns == "default" { name } else { key });
    match mesh {
        Some(m) => format!("{what} {name} in mesh {m}"),
        None => format!("{what} {name}"),
    }
}

/// Counts per class of all `found`, then only the edges of `classes`, drawn and listed.
fn finish(
    title: String,
    found: Vec<Edge>,
    focus: Option<HashSet<String>>,
    classes: Option<Vec<&'static str>>,
    csv_href: Option<String>,
) -> MapView {
    let counts = class_counts(&found);
    let mut shown: Vec<Edge> = found
        .into_iter()
        .filter(|e| classes.as_ref().is_none_or(|c| c.contains(&e.class.as_str())))
        .collect();
    let graph = (!shown.is_empty()).then(|| draw::draw(&shown, focus.as_ref()));
    let total = shown.len() as u64;
    shown.truncate(MAX_TABLE_ROWS);
    MapView {
        title,
        graph,
        edges: shown,
        total,
        counts,
        csv_href,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_take_three_forms() {
        assert_eq!(
            entity_key("system", "commerce").ok().as_deref(),
            Some("system:default/commerce")
        );
        assert_eq!(
            entity_key("system", "ops/commerce").ok().as_deref(),
            Some("system:ops/commerce")
        );
        assert_eq!(
            entity_key("system", "system:default/commerce").ok().as_deref(),
            Some("system:default/commerce")
        );
        assert!(matches!(
            entity_key("system", "component:default/x"),
            Err(AppError::Invalid { .. })
        ));
        assert!(bounded("team", Some(&"x".repeat(300)), MAX_NAME).is_err());
        assert_eq!(titled("Team", "group:default/a", Some("m")), "Team a in mesh m");
    }
}
