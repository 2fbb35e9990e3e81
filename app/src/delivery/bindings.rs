//! Which producers may report a component: named by its (or its team's)
//! `bearing.dev/producers` annotation, which the catalog file owns, or bound in Bearing by the
//! team's lead (issue 13 §2). Binding and unbinding are audited.

use serde_json::json;

use super::map::PRODUCERS_ANNOTATION;
use super::{repo, ProducerBinding, Producers};
use crate::audit::service::{record, Event};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// The producers that may report `component` (readers), and whether the caller may bind more.
pub async fn producers(ctx: &ServerCtx, caller: &Caller, component: &str) -> Result<Producers, AppError> {
    caller.require_reader(ctx)?;
    let (owner, own, team) = repo::producer_lists(&ctx.pool, component)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("component {component}")))?;
    let mut items = Vec::new();
    let listed = |list: Option<String>, via: &str, items: &mut Vec<ProducerBinding>| {
        for name in list.iter().flat_map(|l| l.split([',', ' ', '\n', '\t'])).map(str::trim) {
            if !name.is_empty() {
                items.push(ProducerBinding {
                    producer: identity(name),
                    via: via.to_owned(),
                    removable: false,
                });
            }
        }
    };
    listed(
        own,
        &format!("the component's {PRODUCERS_ANNOTATION} annotation"),
        &mut items,
    );
    if let Some(owner) = &owner {
        listed(
            team,
            &format!("{owner}'s {PRODUCERS_ANNOTATION} annotation"),
            &mut items,
        );
    }
    for (bound_to, producer, by, at) in repo::bindings(&ctx.pool, component, owner.as_deref()).await? {
        items.push(ProducerBinding {
            producer,
            via: format!("bound to {bound_to} by {by} on {}", rfc3339(at)),
            removable: bound_to == component,
        });
    }
    let may_bind = caller
        .user
        .as_ref()
        .is_some_and(|u| u.is_admin() || owner.as_deref().is_some_and(|o| u.leads(o)));
    Ok(Producers { items, may_bind })
}

/// Binds (or, with `bind` false, unbinds) `producer` to `component`: the owning team's lead or
/// an admin, audited.
pub async fn bind(
    ctx: &ServerCtx,
    caller: &Caller,
    component: &str,
    producer: &str,
    bind: bool,
) -> Result<Producers, AppError> {
    let user = caller.require_user()?;
    let producer = valid_producer(producer)?;
    let (owner, _, _) = repo::producer_lists(&ctx.pool, component)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("component {component}")))?;
    if !(user.is_admin() || owner.as_deref().is_some_and(|o| user.leads(o))) {
        return Err(AppError::forbidden(
            "only a lead of the component's team, or an admin, binds producers to it",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let changed = if bind {
        repo::insert_binding(&mut tx, component, &producer, &user.actor()).await?
    } else {
        repo::delete_binding(&mut tx, component, &producer).await?
    };
    if changed {
        let (action, before, after) = if bind {
            ("delivery.bind", None, Some(json!({"producer": producer})))
        } else {
            ("delivery.unbind", Some(json!({"producer": producer})), None)
        };
        record(
            &mut tx,
            &ctx.audit,
            caller,
            Event::new(action, component).change(before, after),
        )
        .await?;
    }
    tx.commit().await?;
    producers(ctx, caller, component).await
}

/// `token:<name>` for a bare name, as the annotation means it.
fn identity(name: &str) -> String {
    if name.contains(':') {
        name.to_owned()
    } else {
        format!("token:{name}")
    }
}

/// A producer as Bearing names it: `token:<name>` (or a bare token name) or `client:<id>`.
fn valid_producer(producer: &str) -> Result<String, AppError> {
    let p = identity(producer.trim());
    let (kind, name) = p.split_once(':').unwrap_or(("", ""));
    let ok = matches!(kind, "token" | "client")
        && !name.is_empty()
        && name.len() <= 100
        && !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if ok {
        Ok(p)
    } else {
        Err(AppError::invalid(
            "producer",
            "a token's name (ci-payments) or client:<client id>, up to 100 characters, no spaces or commas",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producers_are_named_as_the_annotation_means() {
        assert_eq!(valid_producer(" ci-data ").unwrap(), "token:ci-data");
        assert_eq!(valid_producer("client:luigi-prod").unwrap(), "client:luigi-prod");
        for bad in ["", "a b", "a,b", "user:x", "client:", "token:\u{7}"] {
            assert!(valid_producer(bad).is_err(), "{bad:?}");
        }
    }
}
