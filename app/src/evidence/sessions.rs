//! Sessions still open at the end of the period, per person, for `users_and_roles.csv`.
//!
//! Sessions live in the `sessions` table as tower-sessions stores them (a MessagePack
//! `Record` whose data maps keys to JSON); a signed-in one holds, under
//! [`crate::auth::SESSION_AUTH_KEY`], the person's user id and when they signed in. Expired
//! sessions are deleted, so for a period that ended in the past only the sessions still stored
//! now can be counted: those signed in before the end and expiring after it.

use std::collections::HashMap;

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Sessions per user id that were signed in before `to` and expire after it.
pub(super) async fn open_at(conn: &mut PgConnection, to: OffsetDateTime) -> sqlx::Result<HashMap<Uuid, u64>> {
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM sessions WHERE expiry_date > $1")
        .bind(to)
        .fetch_all(conn)
        .await?;
    let mut open = HashMap::new();
    for (data,) in rows {
        if let Some(user) = signed_in_before(&data, to) {
            *open.entry(user).or_default() += 1;
        }
    }
    Ok(open)
}

/// The user of a stored session signed in before `to`; `None` for a session that holds no
/// sign-in (one in progress) or does not decode (written by another version).
fn signed_in_before(data: &[u8], to: OffsetDateTime) -> Option<Uuid> {
    let record: tower_sessions::session::Record = rmp_serde::from_slice(data).ok()?;
    let auth = record.data.get(crate::auth::SESSION_AUTH_KEY)?;
    let logged_in_at = auth.get("logged_in_at")?.as_i64()?;
    if logged_in_at >= to.unix_timestamp() {
        return None;
    }
    auth.get("user_id")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(auth: Option<serde_json::Value>) -> Vec<u8> {
        let mut data = HashMap::new();
        if let Some(auth) = auth {
            data.insert(crate::auth::SESSION_AUTH_KEY.to_owned(), auth);
        }
        let record = tower_sessions::session::Record {
            id: tower_sessions::session::Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc(),
        };
        rmp_serde::to_vec(&record).unwrap()
    }

    #[test]
    fn a_session_counts_for_its_user_when_signed_in_before_the_end() {
        let user = Uuid::new_v4();
        let to = time::macros::datetime!(2026-12-01 0:00 UTC);
        let auth = |at: i64| Some(serde_json::json!({"user_id": user, "logged_in_at": at, "id_token": "x"}));
        assert_eq!(
            signed_in_before(&stored(auth(to.unix_timestamp() - 60)), to),
            Some(user)
        );
        assert_eq!(
            signed_in_before(&stored(auth(to.unix_timestamp() + 60)), to),
            None,
            "signed in after the end"
        );
        assert_eq!(signed_in_before(&stored(None), to), None, "a sign-in in progress");
        assert_eq!(signed_in_before(b"not messagepack", to), None);
    }
}
