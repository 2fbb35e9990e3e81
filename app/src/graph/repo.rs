//! SQL of the maps: which components make up a system, and which teams and systems exist for
//! the pickers. A team's components come from [`crate::mesh::repo::components_of_owner`].

use sqlx::PgExecutor;

/// The components that are part of `system` (a reference key), by reference.
pub async fn components_of_system(db: impl PgExecutor<'_>, system: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT ref FROM entities WHERE kind = 'component' AND system_ref = $1 ORDER BY ref")
        .bind(system)
        .fetch_all(db)
        .await
}

/// Every entity of `kind` that is not orphaned, as `(namespace, name, title)`, by namespace and
/// name: the options of a picker.
pub async fn names_of_kind(db: impl PgExecutor<'_>, kind: &str) -> sqlx::Result<Vec<(String, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT namespace, name, title FROM entities WHERE kind = $1 AND NOT orphaned ORDER BY namespace, name",
    )
    .bind(kind)
    .fetch_all(db)
    .await
}
