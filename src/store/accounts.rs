//! Accounts, their grants, API tokens and the audit log, as stored.
//!
//! Passwords and tokens arrive here already hashed (the `accounts` module hashes
//! them); the audit log is only ever appended to.

use std::collections::HashMap;

use duckdb::{Connection, OptionalExt, params};

use super::{QueryContext, StoreError};
use crate::domain::access::{Grant, Principal, Role};

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The person with their grants.
    pub principal: Principal,
    /// The password's argon2 hash (PHC string).
    pub password_hash: String,
    /// When the account was made (UTC).
    pub created_at: String,
    /// When it was disabled, if it was.
    pub disabled_at: Option<String>,
}

/// A stored API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's public id (shown in lists, used to revoke it).
    pub id: String,
    /// Its owner.
    pub user: String,
    /// What the owner said it is for.
    pub label: String,
    /// SHA-256 of the secret, hex.
    pub token_hash: String,
    /// When it was made (UTC).
    pub created_at: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who (the account name); none for a failed sign-in of an unknown name.
    pub user: Option<String>,
    /// What: `sign_in`, `sign_in_failed`, `sign_out`, `read_personal`, `write`,
    /// `export`, `account`, `token`.
    pub action: String,
    /// The route (method and path, never the query).
    pub route: Option<String>,
    /// What was read or changed (household numbers, an entry, before and after).
    pub detail: Option<String>,
    /// Rows read or exported, where that is counted.
    pub rows: Option<i64>,
}

/// Which audit lines to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time on (UTC, compared as text: `2026-12-01` or a full stamp).
    pub since: Option<String>,
    /// One account's lines.
    pub user: Option<String>,
    /// One action's lines.
    pub action: Option<String>,
    /// Only lines strictly older than this (UTC, compared as text like `since`: a day
    /// or a full stamp such as the `at` of the last line a client has seen): a client
    /// pages through the log with `limit` and the `at` of each page's last line. Lines
    /// of that same second are not in the next page; a client that must see all of them
    /// asks for the second after and leaves out the ones it has.
    pub before: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// Whether an account of this name exists.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM users WHERE name = ?", [name], |r| {
            r.get(0)
        })
        .context("look up account")?;
    Ok(n > 0)
}

/// How many accounts can sign in (not disabled).
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn active_count(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT count(*) FROM users WHERE disabled_at IS NULL",
        [],
        |r| r.get(0),
    )
    .context("count accounts")
}

/// Adds an account with its grants; a taken name is refused.
///
/// # Errors
/// [`StoreError::Invalid`] for a taken name, [`StoreError::Query`] if a write fails.
pub fn add(conn: &Connection, account: &Account) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    if exists(conn, &account.principal.user)? {
        return Err(StoreError::Invalid(format!(
            "an account named {} already exists",
            account.principal.user
        )));
    }
    conn.execute_batch("BEGIN TRANSACTION").context("begin")?;
    let result = (|| {
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
            params![
                account.principal.user,
                account.principal.display,
                account.password_hash,
                account.created_at,
                account.disabled_at
            ],
        )
        .context("add account")?;
        insert_grants(conn, &account.principal.user, &account.principal.grants)
    })();
    finish(conn, result)
}

/// Replaces an account's grants.
///
/// # Errors
/// [`StoreError::Invalid`] for an unknown account, [`StoreError::Query`] if a write fails.
pub fn set_grants(conn: &Connection, name: &str, grants: &[Grant]) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    if !exists(conn, name)? {
        return Err(StoreError::Invalid(format!("no account named {name}")));
    }
    conn.execute_batch("BEGIN TRANSACTION").context("begin")?;
    let result = (|| {
        conn.execute("DELETE FROM user_grants WHERE user_name = ?", [name])
            .context("drop grants")?;
        insert_grants(conn, name, grants)?;
        // New grants: the kept sessions, signed in under the old ones, end.
        drop_sessions_of(conn, name)
    })();
    finish(conn, result)
}

/// Sets an account's password hash, or disables / enables it.
///
/// # Errors
/// [`StoreError::Invalid`] for an unknown account, [`StoreError::Query`] if a write fails.
pub fn update(
    conn: &Connection,
    name: &str,
    password_hash: Option<&str>,
    disabled_at: Option<Option<&str>>,
) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    if !exists(conn, name)? {
        return Err(StoreError::Invalid(format!("no account named {name}")));
    }
    if let Some(hash) = password_hash {
        conn.execute(
            "UPDATE users SET password_hash = ? WHERE name = ?",
            params![hash, name],
        )
        .context("set password")?;
    }
    if let Some(disabled) = disabled_at {
        conn.execute(
            "UPDATE users SET disabled_at = ? WHERE name = ?",
            params![disabled, name],
        )
        .context("disable account")?;
    }
    // A new password or a change of state ends every session, also those a stopped
    // server kept for its next start.
    drop_sessions_of(conn, name)
}

fn insert_grants(conn: &Connection, name: &str, grants: &[Grant]) -> Result<(), StoreError> {
    for g in grants {
        conn.execute(
            "INSERT INTO user_grants (user_name, role, area_code, until, department)
             VALUES (?, ?, ?, ?, ?)",
            params![name, g.role.code(), g.area, g.until, g.department],
        )
        .context("add grant")?;
    }
    Ok(())
}

/// Commits on success, rolls back on failure.
fn finish(conn: &Connection, result: Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(()) => conn.execute_batch("COMMIT").context("commit"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// One account with its grants.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn account(conn: &Connection, name: &str) -> Result<Option<Account>, StoreError> {
    let row: Option<(String, String, String, Option<String>)> = conn
        .query_row(
            "SELECT display, password_hash, created_at, disabled_at FROM users WHERE name = ?",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .context("read account")?;
    let Some((display, password_hash, created_at, disabled_at)) = row else {
        return Ok(None);
    };
    Ok(Some(Account {
        principal: Principal {
            user: name.to_owned(),
            display,
            grants: grants(conn, name)?,
        },
        password_hash,
        created_at,
        disabled_at,
    }))
}

/// Every account, by name.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn accounts(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    // Two queries, not two per account: every token reload reads them all.
    let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
    for (name, grant) in grant_rows(conn, None)? {
        grants.entry(name).or_default().push(grant);
    }
    conn.prepare(
        "SELECT name, display, password_hash, created_at, disabled_at FROM users ORDER BY name",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<Vec<(String, String, String, String, Option<String>)>, _>>()
    })
    .context("list accounts")?
    .into_iter()
    .map(|(user, display, password_hash, created_at, disabled_at)| {
        Ok(Account {
            principal: Principal {
                grants: grants.remove(&user).unwrap_or_default(),
                user,
                display,
            },
            password_hash,
            created_at,
            disabled_at,
        })
    })
    .collect()
}

fn grants(conn: &Connection, name: &str) -> Result<Vec<Grant>, StoreError> {
    Ok(grant_rows(conn, Some(name))?
        .into_iter()
        .map(|(_, g)| g)
        .collect())
}

/// The grants of one account, or of all (`None`), with their account's name, by area.
fn grant_rows(conn: &Connection, name: Option<&str>) -> Result<Vec<(String, Grant)>, StoreError> {
    type Row = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT user_name, role, area_code, until, department FROM user_grants
             WHERE ?1 IS NULL OR user_name = ?1 ORDER BY user_name, area_code, role",
        )
        .and_then(|mut s| {
            s.query_map([name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .context("read grants")?;
    rows.into_iter()
        .map(|(user, role, area, until, department)| {
            let role = Role::from_code(&role)
                .ok_or_else(|| StoreError::Invalid(format!("unknown role {role} of {user}")))?;
            let grant = Grant {
                role,
                area,
                until,
                department,
            };
            Ok((user, grant))
        })
        .collect()
}

/// Stores a new API token (its hash).
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn add_token(conn: &Connection, token: &TokenRecord) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    conn.execute(
        "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)",
        params![
            token.id,
            token.user,
            token.label,
            token.token_hash,
            token.created_at
        ],
    )
    .context("add token")?;
    Ok(())
}

/// Revokes a token of `user` (any user's when `user` is `None`); whether one was.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn revoke_token(
    conn: &Connection,
    id: &str,
    user: Option<&str>,
    at: &str,
) -> Result<bool, StoreError> {
    let _guard = super::write_lock();
    let n = conn
        .execute(
            "UPDATE api_tokens SET revoked_at = ?
             WHERE id = ? AND revoked_at IS NULL AND (? IS NULL OR user_name = ?)",
            params![at, id, user, user],
        )
        .context("revoke token")?;
    Ok(n > 0)
}

/// Every token not revoked, of enabled accounts.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn live_tokens(conn: &Connection) -> Result<Vec<TokenRecord>, StoreError> {
    conn.prepare(
        "SELECT t.id, t.user_name, t.label, t.token_hash, t.created_at
         FROM api_tokens t JOIN users u ON u.name = t.user_name
         WHERE t.revoked_at IS NULL AND u.disabled_at IS NULL
         ORDER BY t.created_at, t.id",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(TokenRecord {
                id: r.get(0)?,
                user: r.get(1)?,
                label: r.get(2)?,
                token_hash: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()
    })
    .context("list tokens")
}

/// Appends lines to the audit log, in one transaction.
///
/// # Errors
/// [`StoreError::Query`] if the write fails (nothing is written then).
pub fn append_audit(conn: &Connection, records: &[AuditRecord]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let _guard = super::write_lock();
    conn.execute_batch("BEGIN TRANSACTION").context("begin")?;
    let result = (|| {
        let mut app = conn.appender("audit_log").context("open audit appender")?;
        for r in records {
            app.append_row(params![r.at, r.user, r.action, r.route, r.detail, r.rows])
                .context("append audit line")?;
        }
        app.flush().context("flush audit lines")
    })();
    finish(conn, result)
}

/// Audit lines, newest first.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn audit(conn: &Connection, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
    conn.prepare(
        "SELECT logged_at, user_name, action, route, detail, rows FROM audit_log
         WHERE (?1 IS NULL OR logged_at >= ?1) AND (?2 IS NULL OR user_name = ?2)
           AND (?3 IS NULL OR action = ?3) AND (?5 IS NULL OR logged_at < ?5)
         ORDER BY logged_at DESC, rowid DESC LIMIT ?4",
    )
    .and_then(|mut s| {
        s.query_map(
            params![
                filter.since,
                filter.user,
                filter.action,
                filter.limit as i64,
                filter.before
            ],
            |r| {
                Ok(AuditRecord {
                    at: r.get(0)?,
                    user: r.get(1)?,
                    action: r.get(2)?,
                    route: r.get(3)?,
                    detail: r.get(4)?,
                    rows: r.get(5)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()
    })
    .context("read audit log")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new database at the current schema, as `paicha` opens one.
    fn store() -> (tempfile::TempDir, super::super::Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.duckdb");
        drop(Connection::open(&path).unwrap());
        let store = super::super::Store::open(&path).unwrap();
        (dir, store)
    }

    fn line(at: &str, user: &str, action: &str, detail: &str) -> AuditRecord {
        AuditRecord {
            at: at.into(),
            user: Some(user.into()),
            action: action.into(),
            route: Some("GET /api/v1/households".into()),
            detail: Some(detail.into()),
            rows: Some(1),
        }
    }

    /// The page of `filter` strictly older than `at`.
    fn page_before(
        conn: &Connection,
        filter: &AuditFilter,
        at: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        audit(
            conn,
            &AuditFilter {
                before: Some(at.to_owned()),
                ..filter.clone()
            },
        )
    }

    fn details(lines: &[AuditRecord]) -> Vec<&str> {
        lines.iter().filter_map(|l| l.detail.as_deref()).collect()
    }

    #[test]
    fn an_empty_log_has_no_page_before_anything() {
        let (_dir, store) = store();
        let conn = store.conn().unwrap();
        let filter = AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        };
        assert!(audit(&conn, &filter).unwrap().is_empty());
        assert!(
            page_before(&conn, &filter, "2030-01-01T00:00:00Z")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pages_before_a_stamp_are_strictly_older_newest_first_and_filtered() {
        let (_dir, store) = store();
        let conn = store.conn().unwrap();
        append_audit(
            &conn,
            &[
                line("2026-12-01T08:00:00Z", "li", "read_personal", "a"),
                line("2026-12-01T08:00:01Z", "li", "read_personal", "b"),
                line("2026-12-01T08:00:01Z", "wang", "read_personal", "c"),
                line("2026-12-01T08:00:02Z", "li", "write", "d"),
                line("2026-12-01T08:00:02Z", "li", "read_personal", "e"),
                line("2026-12-02T09:30:00Z", "li", "read_personal", "f"),
            ],
        )
        .unwrap();
        let all = AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        };
        // Newest first; lines of one second in reverse order of writing.
        assert_eq!(
            details(&audit(&conn, &all).unwrap()),
            ["f", "e", "d", "c", "b", "a"]
        );
        // Strictly older: the lines of the stamp itself are not repeated.
        let older = page_before(&conn, &all, "2026-12-01T08:00:02Z").unwrap();
        assert_eq!(details(&older), ["c", "b", "a"]);
        // A day: everything before it began.
        let older = page_before(&conn, &all, "2026-12-02").unwrap();
        assert_eq!(details(&older), ["e", "d", "c", "b", "a"]);
        // With the other filters and a limit: one account's reads, two at a time.
        let li_reads = AuditFilter {
            user: Some("li".into()),
            action: Some("read_personal".into()),
            limit: 2,
            ..AuditFilter::default()
        };
        let first = audit(&conn, &li_reads).unwrap();
        assert_eq!(details(&first), ["f", "e"]);
        let second = page_before(&conn, &li_reads, &first[1].at).unwrap();
        assert_eq!(details(&second), ["b", "a"]);
        let third = page_before(&conn, &li_reads, &second[1].at).unwrap();
        assert!(third.is_empty());
        // since and before together: a window.
        let window = AuditFilter {
            since: Some("2026-12-01T08:00:01Z".into()),
            limit: 100,
            ..AuditFilter::default()
        };
        let lines = page_before(&conn, &window, "2026-12-01T08:00:02Z").unwrap();
        assert_eq!(details(&lines), ["c", "b"]);
        // Before the first line: nothing.
        assert!(
            page_before(&conn, &all, "2026-12-01T08:00:00Z")
                .unwrap()
                .is_empty()
        );
    }
}

/// A browser session as kept across restarts: the digest of its secret, never the
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Hex SHA-256 of the cookie's secret.
    pub digest: String,
    /// Whose.
    pub user: String,
    /// The token its writes carry.
    pub csrf: String,
    /// When it began, Unix seconds.
    pub started_at: i64,
    /// When it was last used, as last written, Unix seconds.
    pub last_seen_at: i64,
}

/// Keeps a new session.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn add_session(conn: &Connection, s: &StoredSession) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    conn.execute(
        "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
        params![s.digest, s.user, s.csrf, s.started_at, s.last_seen_at],
    )
    .context("add session")?;
    Ok(())
}

/// Forgets a session.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn end_session(conn: &Connection, digest: &str) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    conn.execute("DELETE FROM sessions WHERE digest = ?", params![digest])
        .context("end session")?;
    Ok(())
}

/// Forgets every session of an account.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn end_sessions_of(conn: &Connection, user: &str) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    drop_sessions_of(conn, user)
}

/// [`end_sessions_of`] under a write lock already held.
fn drop_sessions_of(conn: &Connection, user: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE user_name = ?", params![user])
        .context("end sessions")?;
    Ok(())
}

/// Every kept session of an enabled account begun since `started_after` and used since
/// `seen_after` (Unix seconds); the others are deleted.
///
/// # Errors
/// [`StoreError::Query`] if the query or the clean-up fails.
pub fn live_sessions(
    conn: &Connection,
    started_after: i64,
    seen_after: i64,
) -> Result<Vec<StoredSession>, StoreError> {
    let _guard = super::write_lock();
    conn.execute(
        "DELETE FROM sessions WHERE started_at <= ? OR last_seen_at <= ?
            OR user_name NOT IN (SELECT name FROM users WHERE disabled_at IS NULL)",
        params![started_after, seen_after],
    )
    .context("drop ended sessions")?;
    conn.prepare(
        "SELECT digest, user_name, csrf, started_at, last_seen_at FROM sessions ORDER BY digest",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(StoredSession {
                digest: r.get(0)?,
                user: r.get(1)?,
                csrf: r.get(2)?,
                started_at: r.get(3)?,
                last_seen_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()
    })
    .context("list sessions")
}

/// Writes when sessions were last used (digest, Unix seconds), in one transaction.
///
/// # Errors
/// [`StoreError::Query`] if a write fails (nothing is written then).
pub fn touch_sessions(conn: &Connection, seen: &[(String, i64)]) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    conn.execute_batch("BEGIN").context("begin")?;
    let result = seen.iter().try_for_each(|(digest, at)| {
        conn.execute(
            "UPDATE sessions SET last_seen_at = ? WHERE digest = ?",
            params![at, digest],
        )
        .map(|_| ())
        .context("touch session")
    });
    finish(conn, result)
}
