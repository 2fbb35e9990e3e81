//! Writing and reading the audit log. Every state change calls [`record`] inside the
//! transaction that makes the change, so a change and its audit row commit together or not
//! at all.

use std::time::Duration;

use bearing_audit::{entry_hash, verify_chain_reaching, ChainHead, EntryBody, StoredEntry, VerifyingKey};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::{repo, AuditEntry, AuditKeyInfo, AuditPage, AuditQuery, ChainStatus};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::{AuditSettings, ServerCtx};
use crate::text::printable;
use crate::wire::rfc3339;

/// What happened, for [`record`].
#[derive(Debug, Default)]
pub struct Event {
    /// Dotted action name, e.g. `entity.transfer.request`.
    pub action: String,
    /// The entity reference, token, user or setting acted on.
    pub target: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
}

impl Event {
    /// An event of `action` on `target`.
    pub fn new(action: &str, target: impl Into<String>) -> Event {
        Event {
            action: action.to_owned(),
            target: Some(target.into()),
            ..Event::default()
        }
    }

    /// With the state before and after.
    pub fn change(mut self, before: Option<Value>, after: Option<Value>) -> Event {
        self.before = before;
        self.after = after;
        self
    }

    /// With the reason given.
    pub fn reason(mut self, reason: impl Into<String>) -> Event {
        self.reason = Some(reason.into());
        self
    }
}

/// Appends one row for `event` by `caller` within the transaction `tx`. The chain head stays
/// locked until `tx` ends, which orders concurrent writers. Every `checkpoint_rows` rows the new
/// head is signed in the same transaction.
pub async fn record(
    tx: &mut PgConnection,
    settings: &AuditSettings,
    caller: &Caller,
    event: Event,
) -> Result<i64, AppError> {
    let (actor, actor_kind) = match &caller.user {
        Some(u) => (printable(&u.actor()).into_owned(), u.kind.as_str().to_owned()),
        None => ("anonymous".to_owned(), "anonymous".to_owned()),
    };
    // The text columns are shown as they are (page, CLI, exports): no caller's control
    // characters get in. Before/after are JSON, which escapes them.
    let clean = |t: Option<String>| t.map(|t| printable(&t).into_owned());
    let (head_seq, head_hash) = repo::lock_head(tx).await?;
    let prev: [u8; 32] = head_hash.as_slice().try_into().map_err(|_| {
        tracing::error!("audit_head.hash is not 32 bytes");
        AppError::Internal
    })?;
    let seq = head_seq + 1;
    let mut body = EntryBody::new(seq, OffsetDateTime::now_utc(), actor, actor_kind, event.action);
    body.target = clean(event.target);
    body.before = event.before;
    body.after = event.after;
    body.reason = clean(event.reason);
    body.request_id = clean(caller.request_id.clone());
    body.client_addr = clean(caller.client_addr.clone());
    let hash = entry_hash(&prev, &body);
    repo::append(
        tx,
        &StoredEntry {
            body,
            prev_hash: prev,
            hash,
        },
    )
    .await?;
    if seq % settings.checkpoint_rows.max(1) == 0 {
        let cp = settings.key.sign_checkpoint(seq, hash, OffsetDateTime::now_utc());
        repo::insert_checkpoint(&mut *tx, &cp).await?;
    }
    Ok(seq)
}

/// Records `event` in a transaction of its own (for events that change nothing else, such as
/// a failed login).
pub async fn record_alone(
    pool: &PgPool,
    settings: &AuditSettings,
    caller: &Caller,
    event: Event,
) -> Result<i64, AppError> {
    let mut tx = pool.begin().await?;
    let seq = record(&mut tx, settings, caller, event).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Signs a checkpoint of the head if rows were appended since the last checkpoint, by this
/// process or any other. Returns the seq it signed.
pub async fn checkpoint_if_due(pool: &PgPool, settings: &AuditSettings) -> Result<Option<i64>, AppError> {
    let mut tx = pool.begin().await?;
    let (seq, hash) = repo::lock_head(&mut tx).await?;
    let last = repo::last_checkpoint(&mut *tx).await?;
    if seq == 0 || last.is_some_and(|(last_seq, _)| last_seq >= seq) {
        return Ok(None);
    }
    let head: [u8; 32] = hash.as_slice().try_into().map_err(|_| {
        tracing::error!("audit_head.hash is not 32 bytes");
        AppError::Internal
    })?;
    let now = OffsetDateTime::now_utc();
    repo::insert_checkpoint(&mut *tx, &settings.key.sign_checkpoint(seq, head, now)).await?;
    tx.commit().await?;
    Ok(Some(seq))
}

/// Signs a checkpoint whenever rows were appended, looking twice per `checkpoint_interval`, so
/// that no row stays uncovered for much longer than the interval, whichever process appended
/// it. Runs until the pool is closed (the server spawns it).
pub async fn keep_checkpointed(pool: PgPool, settings: AuditSettings) {
    let period = (settings.checkpoint_interval / 2).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(err) = checkpoint_if_due(&pool, &settings).await {
            if !pool.is_closed() {
                tracing::warn!(error = %err, "signing an audit checkpoint failed");
            }
        }
    }
}

/// Walks the whole chain and every checkpoint, streaming rows page by page.
pub async fn verify(pool: &PgPool, key: &VerifyingKey) -> Result<ChainStatus, AppError> {
    verify_reaching(pool, key, &[]).await
}

/// [`verify`], and checks that the chain still reaches each of `heads`, recorded earlier
/// outside the database (`bearing audit verify --expect-head`).
pub async fn verify_reaching(pool: &PgPool, key: &VerifyingKey, heads: &[ChainHead]) -> Result<ChainStatus, AppError> {
    let checkpoints = repo::checkpoints(pool).await?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<StoredEntry>(4096);
    let key_for_walk = *key;
    let heads = heads.to_vec();
    let walker = tokio::task::spawn_blocking(move || verify_chain_reaching(rx, &checkpoints, &key_for_walk, &heads));
    let mut after = 0;
    'pages: loop {
        let rows = repo::rows_after(pool, after, 5000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in rows {
            // The walker stops early at the first break: then nothing more is needed.
            if tx.send(row.into_stored()).is_err() {
                break 'pages;
            }
        }
    }
    drop(tx);
    let outcome = walker.await.map_err(|err| {
        tracing::error!(error = %err, "audit verification task failed");
        AppError::Internal
    })?;
    Ok(match outcome {
        Ok(r) => ChainStatus {
            ok: true,
            entries: r.entries,
            head_seq: r.head_seq,
            head_hash: hex_of(&r.head_hash),
            checkpoints_verified: r.checkpoints_verified,
            last_checkpoint_seq: r.last_checkpoint_seq,
            heads_reached: r.heads_reached,
            problem: None,
            key_id: key.key_id(),
            key_fingerprint: key.fingerprint(),
        },
        Err(b) => ChainStatus {
            ok: false,
            entries: 0,
            head_seq: b.seq,
            head_hash: String::new(),
            checkpoints_verified: 0,
            last_checkpoint_seq: None,
            heads_reached: 0,
            problem: Some(b.to_string()),
            key_id: key.key_id(),
            key_fingerprint: key.fingerprint(),
        },
    })
}

/// The signing key's public half, for admins and auditors to compare with the key they hold.
pub async fn key_info(ctx: &ServerCtx, caller: &Caller) -> Result<AuditKeyInfo, AppError> {
    let user = caller.require_user()?;
    if !user.can_read_audit() {
        return Err(AppError::forbidden("the audit key is shown to admins and auditors"));
    }
    let key = ctx.audit.key.verifying_key();
    Ok(AuditKeyInfo {
        key_id: key.key_id(),
        fingerprint: key.fingerprint(),
        public_key_pem: key.public_key_pem(),
    })
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Audit entries for an admin or auditor.
pub async fn list(ctx: &ServerCtx, caller: &Caller, q: AuditQuery) -> Result<AuditPage, AppError> {
    let user = caller.require_user()?;
    if !user.can_read_audit() {
        return Err(AppError::forbidden("the audit log is for admins and auditors"));
    }
    let limit = i64::from(q.limit.unwrap_or(50));
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 500"));
    }
    let filter = repo::Filter {
        from: parse_time("from", q.from.as_deref())?,
        to: parse_time("to", q.to.as_deref())?,
        actor: non_empty(q.actor),
        action: non_empty(q.action),
        target: non_empty(q.target),
        before_seq: match non_empty(q.cursor) {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| AppError::invalid("cursor", "use next_cursor from a previous page"))?,
            ),
            None => None,
        },
    };
    let rows = repo::list(&ctx.pool, &filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let mut items: Vec<AuditEntry> = rows.into_iter().take(limit as usize).map(to_view).collect();
    name_people(ctx, &mut items).await?;
    let next_cursor = more.then(|| items.last().map(|e| e.seq.to_string())).flatten();
    Ok(AuditPage { items, next_cursor })
}

/// The chain's status for an admin or auditor.
pub async fn chain_status(ctx: &ServerCtx, caller: &Caller) -> Result<ChainStatus, AppError> {
    let user = caller.require_user()?;
    if !user.can_read_audit() {
        return Err(AppError::forbidden("the audit log is for admins and auditors"));
    }
    verify(&ctx.pool, &ctx.audit.key.verifying_key()).await
}

/// Fills in who the people among the actors are (name and email from their last sign-in).
async fn name_people(ctx: &ServerCtx, items: &mut [AuditEntry]) -> Result<(), AppError> {
    let person = |actor: &str| {
        actor
            .strip_prefix("user:")
            .and_then(|rest| rest.split_once('#'))
            .map(|(issuer, subject)| (issuer.to_owned(), subject.to_owned()))
    };
    let mut people: Vec<(String, String)> = items.iter().filter_map(|e| person(&e.actor)).collect();
    people.sort();
    people.dedup();
    if people.is_empty() {
        return Ok(());
    }
    let names = crate::auth::repo::display_names(&ctx.pool, &people).await?;
    for e in items.iter_mut() {
        if let Some(p) = person(&e.actor) {
            e.actor_display = names.get(&p).cloned();
        }
    }
    Ok(())
}

fn to_view(row: repo::Row) -> AuditEntry {
    let hash = hex_of(&row.hash);
    AuditEntry {
        seq: row.seq,
        at: rfc3339(row.at),
        actor: row.actor,
        actor_kind: row.actor_kind,
        actor_display: None,
        action: row.action,
        target: row.target,
        before: row.before,
        after: row.after,
        reason: row.reason,
        request_id: row.request_id,
        client_addr: row.client_addr,
        hash,
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub(crate) fn parse_time(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, AppError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Ok(Some(t));
    }
    // A plain date (from a date input) means midnight UTC.
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(v, &date_format)
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| {
            AppError::invalid(
                field,
                "use an RFC 3339 time such as 2026-11-23T10:00:00Z or a date 2026-11-23",
            )
        })
}
