//! Server functions for editing and transfers. Thin adapters: the service checks the caller.

use leptos::prelude::*;

use super::{EditState, TransferOutcome, TransferView};
#[cfg(feature = "ssr")]
use super::{EntityPatch, LinkInput};
use crate::error::AppError;

/// What the caller may do on an entity page.
#[server(prefix = "/api/fn", endpoint = "get_edit_state")]
pub async fn get_edit_state(kind: String, namespace: String, name: String) -> Result<EditState, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let key = crate::catalog::service::ref_key(&kind, &namespace, &name)?;
        super::service::edit_state(&ctx, &caller, &key).await
    })
    .await
}

/// Moves an entity to another team (admins: at once; leads: pending acceptance).
#[server(prefix = "/api/fn", endpoint = "transfer_entity")]
pub async fn transfer_entity(entity: String, to: String, reason: String) -> Result<TransferOutcome, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::service::transfer(&ctx, &caller, &entity, &to, &reason).await
    })
    .await
}

/// Changes lifecycle, description and links. `links` is one `url title` per line.
#[server(prefix = "/api/fn", endpoint = "edit_entity")]
pub async fn edit_entity(
    entity: String,
    lifecycle: String,
    description: String,
    links: String,
    reason: Option<String>,
) -> Result<(), AppError> {
    let links = links
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((url, title)) => LinkInput {
                url: url.to_owned(),
                title: Some(title.trim().to_owned()),
            },
            None => LinkInput {
                url: l.to_owned(),
                title: None,
            },
        })
        .collect();
    let patch = EntityPatch {
        lifecycle: Some(lifecycle),
        description: Some(description),
        links: Some(links),
        reason,
    };
    crate::server_call::call(|ctx, caller| async move { super::service::patch(&ctx, &caller, &entity, patch).await })
        .await
}

/// Pending transfers the caller may decide or asked for.
#[server(prefix = "/api/fn", endpoint = "get_transfers")]
pub async fn get_transfers() -> Result<Vec<TransferView>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::pending(&ctx, &caller).await }).await
}

/// Accepts or rejects a transfer.
#[server(prefix = "/api/fn", endpoint = "decide_transfer")]
pub async fn decide_transfer(id: i64, accept: bool) -> Result<TransferView, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::service::decide(&ctx, &caller, id, accept).await }).await
}
