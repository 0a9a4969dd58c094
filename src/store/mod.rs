//! DuckDB storage: the schema, bulk loading and every query. The only module with SQL.
//!
//! A [`Store`] wraps a small pool of connections to one database file. DuckDB calls
//! block, so async callers go through [`Store::run`], which puts the closure on a
//! blocking thread with a pooled connection. New databases are written by
//! [`DatabaseBuilder`] into a temporary file that is renamed into place only when the
//! whole load has succeeded, so a failed build never leaves a half-written database.

pub mod accounts;
pub mod areas;
mod builder;
pub mod exits;
pub mod households;
pub mod imports;
pub mod indicators;
pub mod ledger;
pub mod measures;
pub mod plans;
pub mod rolls;
mod schema;
pub mod versions;
pub mod visits;

use std::path::{Path, PathBuf};

use duckdb::{Connection, DuckdbConnectionManager, OptionalExt};

pub use areas::AreaFilter;
pub use builder::{AreaRow, DatabaseBuilder, FlawRow};
pub use households::HouseholdExport;
pub use schema::SCHEMA_VERSION;

/// Errors of the storage layer. Each variant says what was being done, so that a log
/// line is enough to find the failing step.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file does not exist.
    #[error("database file {0} does not exist")]
    Missing(PathBuf),
    /// The database could not be opened.
    #[error("cannot open database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<duckdb::Error>,
    },
    /// Another process (a running `paicha serve`) holds the database: DuckDB lets one
    /// process write a file.
    #[error(
        "database {path} is in use by another process{}: stop it first, or ask the running server through its API",
        holder.map(|p| format!(" (PID {p})")).unwrap_or_default()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The process holding it, when DuckDB says.
        holder: Option<u32>,
    },
    /// The connection pool failed to hand out a connection.
    #[error("no database connection available")]
    Pool(#[source] Box<r2d2::Error>),
    /// The database was written by a newer version of paicha.
    #[error("database schema version {found} is newer than this paicha supports ({supported})")]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A query or statement failed.
    #[error("database query failed: {context}")]
    Query {
        /// What the query was for (not the values, which may be personal data).
        context: &'static str,
        /// The cause.
        #[source]
        source: Box<duckdb::Error>,
    },
    /// A stored geometry could not be decoded.
    #[error("stored geometry of area {code} is not valid WKB: {reason}")]
    Geometry {
        /// The area's code.
        code: String,
        /// What was wrong.
        reason: String,
    },
    /// A file operation around the database failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Input to a bulk load broke a rule of the schema.
    #[error("invalid data: {0}")]
    Invalid(String),
    /// The blocking task that ran the query panicked or was cancelled.
    #[error("database task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Attaches a description of the query to a DuckDB error.
pub(crate) trait QueryContext<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, duckdb::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query {
            context,
            source: Box::new(source),
        })
    }
}

/// How many connections the pool keeps; DuckDB runs each query on all cores anyway,
/// so a few connections suffice for concurrent requests.
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// A handle to one paicha database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<DuckdbConnectionManager>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens an existing database, migrating its schema forward if it is older.
    ///
    /// # Errors
    /// [`StoreError::Missing`] if there is no such file, [`StoreError::SchemaTooNew`]
    /// if a newer paicha wrote it, or the DuckDB error that stopped the opening.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let open_error = |source| open_failure(path, source);
        let manager =
            DuckdbConnectionManager::file_with_flags(path, offline_config().map_err(open_error)?)
                .map_err(open_error)?;
        let pool = r2d2::Pool::builder()
            .max_size(DEFAULT_POOL_SIZE)
            .build(manager)
            .map_err(|e| {
                // The pool opens its first connections here: a lock shows up as a pool
                // error whose message is DuckDB's.
                let message = e.to_string();
                if message.contains("Conflicting lock") || message.contains("Could not set lock") {
                    StoreError::Locked {
                        path: path.to_path_buf(),
                        holder: lock_holder(&message),
                    }
                } else {
                    StoreError::Pool(Box::new(e))
                }
            })?;
        let store = Self {
            pool,
            path: path.to_path_buf(),
        };
        let mut conn = store.conn()?;
        migrate(&mut conn)?;
        drop(conn);
        Ok(store)
    }

    /// Creates an empty database at `path`, with the current schema and no data (an
    /// office's own, which its first import fills), and opens it.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if something is at `path` already, or the DuckDB error
    /// that stopped the creation.
    pub fn create_empty(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists: a new database is not written over it",
                path.display()
            )));
        }
        {
            let mut conn = Connection::open_with_flags(
                path,
                offline_config().map_err(|e| open_failure(path, e))?,
            )
            .map_err(|e| open_failure(path, e))?;
            migrate(&mut conn)?;
        }
        Self::open(path)
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A pooled connection, for blocking callers (CLI commands, start-up).
    ///
    /// # Errors
    /// [`StoreError::Pool`] when no connection can be had.
    pub fn conn(&self) -> Result<r2d2::PooledConnection<DuckdbConnectionManager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool(Box::new(e)))
    }

    /// Whether a connection can be had within `wait`: what `/health` asks, so that it
    /// says when every connection is held.
    #[must_use]
    pub fn can_connect(&self, wait: std::time::Duration) -> bool {
        self.pool.get_timeout(wait).is_ok()
    }

    /// Runs a blocking database closure on a blocking thread with a pooled connection.
    ///
    /// # Errors
    /// Whatever the closure returns, [`StoreError::Pool`], or [`StoreError::Task`] if
    /// the closure panicked.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(|e| StoreError::Pool(Box::new(e)))?;
            f(&conn)
        })
        .await
        .map_err(StoreError::Task)?
    }
}

/// Serialises this process's writes to its database. DuckDB runs concurrent
/// transactions optimistically: two that update one row abort the second with
/// "Conflict on update", and two check-then-insert of one key both pass the check.
/// One process writes a database (the server holds its lock), so one lock here makes
/// every write see the one before it: a stale update is then a version check that
/// fails (409), a repeated id an existing row (409), never a 500.
static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes the write lock (see [`WRITES`]) for the caller's writes.
pub(crate) fn write_lock() -> std::sync::MutexGuard<'static, ()> {
    WRITES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An open failure as a store error: [`StoreError::Locked`] when another process holds
/// the file, else [`StoreError::Open`].
pub(crate) fn open_failure(path: &Path, source: duckdb::Error) -> StoreError {
    let message = source.to_string();
    if message.contains("Conflicting lock") || message.contains("Could not set lock") {
        StoreError::Locked {
            path: path.to_path_buf(),
            holder: lock_holder(&message),
        }
    } else {
        StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}

/// The PID in DuckDB's "Conflicting lock is held in … (PID 1234) …".
fn lock_holder(message: &str) -> Option<u32> {
    let rest = &message[message.find("(PID ")? + "(PID ".len()..];
    rest[..rest.find(')')?].trim().parse().ok()
}

/// Whether a database file is held by another process (a running server): it is
/// opened read-only for a moment, which DuckDB refuses while a writer holds it.
#[must_use]
pub fn in_use(path: &Path) -> Option<StoreError> {
    if !path.is_file() {
        return None;
    }
    let config = offline_config()
        .and_then(|c| c.access_mode(duckdb::AccessMode::ReadOnly))
        .ok()?;
    match Connection::open_with_flags(path, config) {
        Ok(_) => None,
        Err(e) => match open_failure(path, e) {
            locked @ StoreError::Locked { .. } => Some(locked),
            _ => None,
        },
    }
}

/// The environment variable that sets how much memory DuckDB may hold (its
/// `memory_limit`: "2GiB", "512MB"), beyond which its joins and sorts spill to disk.
pub const MEMORY_ENV: &str = "PAICHA_DUCKDB_MEMORY";

/// DuckDB's memory when [`MEMORY_ENV`] is unset. DuckDB's own default is 80% of the
/// machine, on top of the service's own (a 10-million-household snapshot is 1.7 GB);
/// with this bound the first start at 10 million, which derives the indicator table,
/// peaks at about 4.2 GB (BENCHMARKS.md).
pub const DEFAULT_MEMORY: &str = "2GiB";

/// DuckDB settings for an offline intranet: never download or auto-load an
/// extension (DuckDB otherwise tries the internet when a query needs, say, `json`);
/// a bounded memory ([`MEMORY_ENV`]); and scans in insertion order (DuckDB's default,
/// pinned: the snapshot reads households in storage order without sorting them).
pub(crate) fn offline_config() -> duckdb::Result<duckdb::Config> {
    duckdb::Config::default()
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?
        .with("preserve_insertion_order", "true")?
        .max_memory(&memory_limit()?)
}

/// DuckDB's memory limit: [`MEMORY_ENV`], else [`DEFAULT_MEMORY`].
///
/// # Errors
/// One naming the variable and its value, if that is not a size with its unit, such as
/// `2GiB` (DuckDB would only say "Unknown error code", as it does for a bare number).
fn memory_limit() -> duckdb::Result<String> {
    let Some(value) = std::env::var(MEMORY_ENV)
        .ok()
        .filter(|m| !m.trim().is_empty())
    else {
        return Ok(DEFAULT_MEMORY.to_owned());
    };
    let trimmed = value.trim();
    let digits = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let units = ["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];
    if number.parse::<f64>().is_ok_and(|n| n > 0.0)
        && units.iter().any(|u| u.eq_ignore_ascii_case(unit.trim()))
    {
        Ok(trimmed.to_owned())
    } else {
        // A variant with no source, so that the message is said once.
        Err(duckdb::Error::InvalidParameterName(format!(
            "{MEMORY_ENV}={value:?} is not a memory size with its unit (such as 2GiB or 512MB)"
        )))
    }
}

/// Column `i` of an Arrow batch DuckDB gave, as the array type `A` (`kind` names it
/// in the error): readers of millions of rows take whole columns rather than cells.
///
/// # Errors
/// [`StoreError::Invalid`] naming `what` was read and the column's type, if it is not
/// an `A`.
pub(crate) fn column<'a, A: 'static>(
    batch: &'a duckdb::arrow::record_batch::RecordBatch,
    i: usize,
    what: &str,
    kind: &str,
) -> Result<&'a A, StoreError> {
    batch.column(i).as_any().downcast_ref::<A>().ok_or_else(|| {
        StoreError::Invalid(format!(
            "{what}: column {i} came as {}, not {kind}",
            batch.column(i).data_type()
        ))
    })
}

/// Runs `f` in a transaction: committed when it succeeds, rolled back otherwise.
pub(crate) fn in_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let _one_writer = write_lock();
    conn.execute_batch("BEGIN TRANSACTION")
        .context("begin transaction")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT").context("commit transaction")?;
            Ok(v)
        }
        Err(e) => {
            // The first error is the one worth reporting.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A value from the `meta` table.
///
/// # Errors
/// [`StoreError::Query`] if the table cannot be read.
pub fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?")
        .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
        .context("read meta")
}

/// The data version: it changes whenever stored data changes, and goes into cache keys.
///
/// # Errors
/// [`StoreError::Query`] if the table cannot be read.
pub fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(meta(conn, "data_version")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Brings the schema up to [`SCHEMA_VERSION`], one migration per transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    )
    .context("create meta table")?;
    let found: i64 = meta(conn, "schema_version")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (from, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().context("begin migration")?;
        tx.execute_batch(sql).context("apply migration")?;
        tx.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
            [(from + 1).to_string()],
        )
        .context("record schema version")?;
        tx.commit().context("commit migration")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_holder_is_read_from_duckdbs_message() {
        let message = "IO Error: Could not set lock on file \"/x.duckdb\": Conflicting lock is held in /usr/bin/paicha (PID 4242) by user root.";
        assert_eq!(lock_holder(message), Some(4242));
        assert_eq!(lock_holder("no pid here"), None);
    }

    #[test]
    fn duckdb_holds_at_most_the_default_memory() {
        if std::env::var_os(MEMORY_ENV).is_some() {
            return; // the environment chose another limit; the CLI test covers that
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_empty(&dir.path().join("m.duckdb")).unwrap();
        let limit: String = store
            .conn()
            .unwrap()
            .query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit, "2.0 GiB");
    }

    #[test]
    fn opening_a_missing_file_says_which() {
        let err = Store::open(Path::new("/nonexistent/paicha.duckdb")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "database file /nonexistent/paicha.duckdb does not exist"
        );
    }

    #[test]
    fn a_database_from_a_newer_paicha_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.duckdb");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '999');",
            )
            .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 999, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_demo_of_schema_7_keeps_its_department_account_working() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seven.duckdb");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
            )
            .unwrap();
            for sql in &schema::MIGRATIONS[..7] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO meta VALUES ('schema_version', '7'), ('source', 'demo');
                 INSERT INTO user_grants VALUES ('department', 'department', '210422', NULL),
                                                ('leader', 'leader', '210422', NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn().unwrap();
        let grants: Vec<(String, Option<String>)> = conn
            .prepare("SELECT user_name, department FROM user_grants ORDER BY user_name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            grants,
            [
                ("department".to_owned(), Some("教育".to_owned())),
                ("leader".to_owned(), None)
            ]
        );
    }

    /// Issue 15: households and members gained columns; a database of schema 9 keeps
    /// its rows (the new columns NULL), and its history tables keep the live tables'
    /// columns in order, since households are kept and put back with `SELECT *`.
    #[test]
    fn a_database_of_schema_9_gains_the_new_columns_empty_and_history_still_fits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nine.duckdb");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
            )
            .unwrap();
            for sql in &schema::MIGRATIONS[..9] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO meta VALUES ('schema_version', '9');
                 INSERT INTO households VALUES ('H1', '210422101201', '210422101', '甲',
                     'lifted', NULL, NULL, 6000.0, 'A', true, true, true, true, true, 1,
                     NULL, NULL, NULL, NULL, NULL, 0);
                 INSERT INTO members VALUES ('H1', 1, '甲', '11010519491231002X', 'male',
                     70, 'head', NULL, true, NULL);
                 INSERT INTO households_history SELECT 'i1', * FROM households;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn().unwrap();
        let (kept_toilet, kept_education): (Option<bool>, Option<String>) = conn
            .query_row(
                "SELECT h.sanitary_toilet, m.education FROM households h
                 JOIN members m USING (household_no)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((kept_toilet, kept_education), (None, None));
        let columns = |table: &str| -> Vec<String> {
            conn.prepare(&format!(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_name = '{table}' ORDER BY ordinal_position"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        for table in ["households", "members"] {
            let history = columns(&format!("{table}_history"));
            assert_eq!(history[0], "import_id");
            assert_eq!(history[1..], columns(table)[..], "{table}");
        }
        conn.execute_batch(
            "INSERT INTO households_history SELECT 'i2', * FROM households;
             INSERT INTO members_history SELECT 'i2', * FROM members;
             DELETE FROM households;
             INSERT INTO households SELECT * EXCLUDE (import_id) FROM households_history
              WHERE import_id = 'i1';",
        )
        .unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn an_empty_database_is_migrated_to_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.duckdb");
        drop(Connection::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let conn = store.conn().unwrap();
        assert_eq!(
            meta(&conn, "schema_version").unwrap().as_deref(),
            Some(SCHEMA_VERSION.to_string().as_str())
        );
        let n: i64 = conn
            .query_row("SELECT count(*) FROM households", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
