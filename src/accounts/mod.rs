//! Signing in and staying signed in: password hashes (argon2id), sessions, API
//! tokens, the throttle on failed sign-ins, and the audit log's writer.
//!
//! Sessions, tokens and accounts live in the store, with an in-memory copy of the
//! live sessions and tokens so that a tile request costs a map lookup, not a query.
//! Every secret handed out is 32 random bytes; only its SHA-256 is kept, so a copy
//! of the database or of memory holds no usable credential. A secret seen valid is
//! found again by a keyed tag ([`Digests`]), not by hashing it anew on every request.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::Digest as _;

use crate::domain::access::{self, Grant, Principal, Role, draw_villages};
use crate::domain::{AreaLevel, calendar};
use crate::store::accounts::{self as stored, Account, AuditRecord, TokenRecord};
use crate::store::{Store, StoreError};

/// The demo database's accounts' password (one per role, printed in the README and
/// offered on the sign-in page, only on the synthetic demo).
pub const DEMO_PASSWORD: &str = "paicha-demo";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_hours(12);
/// A session unused this long ends.
pub const SESSION_IDLE: Duration = Duration::from_hours(2);
/// Failed sign-ins of one account name before it is locked.
pub const MAX_FAILURES: u32 = 5;
/// Failed sign-ins from one address before it is locked: more than of one name, since
/// an office's computers may reach the server through one address.
pub const MAX_ADDRESS_FAILURES: u32 = 50;
/// How long failures are counted, and how long a lock lasts.
pub const LOCKOUT: Duration = Duration::from_mins(15);
/// Sessions held at once; the oldest go first beyond it, so that a flood of sign-ins
/// cannot fill memory.
pub const MAX_SESSIONS: usize = 10_000;

/// Why a sign-in or an account change failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong name or password (which of the two is not said).
    #[error("wrong account name or password")]
    Credentials,
    /// Too many failures: the account name (or the address) is locked for a while.
    #[error("too many failed sign-ins: try again in {0} minutes")]
    Locked(u64),
    /// A password shorter than [`MIN_PASSWORD_CHARS`].
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed (a bug in the parameters, not the user's fault).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The argon2id hash of a password, as a PHC string with its own salt.
///
/// # Errors
/// [`AccountError::WeakPassword`] for a short password.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches a stored hash.
#[must_use]
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore as _;
    let mut bytes = [0u8; N];
    // ThreadRng is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new secret: 32 random bytes as 64 hex digits.
#[must_use]
pub fn new_secret() -> String {
    hex(&random_bytes::<32>())
}

/// SHA-256 of a secret, hex: what the store keeps of it.
#[must_use]
pub fn digest(secret: &str) -> String {
    hex(&key(secret))
}

/// SHA-256 of a secret: what memory keeps of it (the maps' keys).
fn key(secret: &str) -> Key {
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// A secret's SHA-256.
type Key = [u8; 32];

/// A map by keys that are already uniformly random and not chosen by a client (a
/// secret's SHA-256, a keyed tag): hashing them again with `SipHash` would cost as
/// much as the rest of a request's sign-in.
type RandomKeyed<K, V> = HashMap<K, V, BuildHasherDefault<Folded>>;

/// The hasher of [`RandomKeyed`]: the key's bytes folded into one word.
#[derive(Debug, Default)]
struct Folded(u64);

impl Hasher for Folded {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(17) ^ u64::from_le_bytes(word);
        }
    }
}

/// Secrets seen valid are found again by a tag, a 128-bit `SipHash-1-3` of the secret
/// under a key drawn for this process, mapped to their SHA-256: a request then costs one
/// short keyed hash, not a SHA-256 (a fifth of a cached tile's work, BENCHMARKS.md).
/// The tag gives back neither the secret nor its digest without the process's key;
/// only secrets that matched a live session or token are remembered, so a client
/// sending made-up ones cannot fill it.
#[derive(Debug)]
struct Digests {
    key: (u64, u64),
    known: Mutex<RandomKeyed<u128, Key>>,
}

impl Default for Digests {
    fn default() -> Self {
        let k = random_bytes::<16>();
        let half = |h: &[u8]| u64::from_le_bytes(h.try_into().unwrap_or_default());
        Self {
            key: (half(&k[..8]), half(&k[8..])),
            known: Mutex::default(),
        }
    }
}

/// Secrets remembered at most; past it the memory starts again (each secret then
/// costs one SHA-256 more).
const MAX_REMEMBERED: usize = 100_000;

impl Digests {
    fn tag(&self, secret: &str) -> u128 {
        use siphasher::sip128::{Hasher128 as _, SipHasher13};
        use std::hash::Hasher as _;
        let mut hasher = SipHasher13::new_with_keys(self.key.0, self.key.1);
        hasher.write(secret.as_bytes());
        hasher.finish128().into()
    }

    /// The SHA-256 of `secret`, remembered or computed, and whether it was remembered.
    fn key(&self, tag: u128, secret: &str) -> (Key, bool) {
        let known = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tag)
            .copied();
        known.map_or_else(|| (key(secret), false), |k| (k, true))
    }

    fn remember(&self, tag: u128, key: Key) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(tag, key);
    }
}

/// The key of a stored digest (64 hex digits).
fn key_of_hex(text: &str) -> Option<Key> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Lower-case hex: every request's token is hashed, so no `format!` per byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub principal: Arc<Principal>,
    /// The token every write of this session must carry (`X-CSRF-Token`); shared, so
    /// that a request's look-up copies no text.
    pub csrf: Arc<str>,
    started: Instant,
    last_seen: Instant,
}

/// What a request's session cookie gives ([`Accounts::check_session`]).
#[derive(Debug)]
pub enum SessionCheck {
    /// A live session: its owner.
    Signed(Arc<Principal>),
    /// A live session, but a write without the session's CSRF token.
    WithoutCsrf,
    /// No live session has this secret.
    Unknown,
}

/// Failed sign-ins of one name or address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

/// Sessions, tokens and the sign-in throttle of a running service.
#[derive(Debug, Default)]
pub struct Accounts {
    sessions: Mutex<RandomKeyed<Key, Session>>,
    tokens: Mutex<RandomKeyed<Key, Arc<Principal>>>,
    /// Held by a reload from its read to its store: two reloads at once (two token
    /// changes) could otherwise store in the wrong order, and the older copy would
    /// drop a new token or bring back a revoked one.
    reloading: Mutex<()>,
    process_tokens: Mutex<RandomKeyed<Key, Arc<Principal>>>,
    digests: Digests,
    failures: Mutex<HashMap<String, Failures>>,
}

/// The result of a sign-in: the session's secret (for its cookie) and the session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session id, sent once as a cookie; only its digest is kept.
    pub secret: String,
    /// The session.
    pub session: Session,
}

impl Accounts {
    /// The accounts of a store: its live tokens loaded.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the read.
    pub fn load(conn: &duckdb::Connection) -> Result<Self, StoreError> {
        let accounts = Self::default();
        accounts.reload_tokens(conn)?;
        accounts.restore_sessions(conn)?;
        Ok(accounts)
    }

    /// Takes back the sessions a previous run kept that are still live (begun within
    /// [`SESSION_LIFETIME`], used within [`SESSION_IDLE`] as last written, of an enabled
    /// account), with their owners' grants as they are now.
    fn restore_sessions(&self, conn: &duckdb::Connection) -> Result<(), StoreError> {
        let now = unix_now();
        let live = stored::live_sessions(
            conn,
            now - SESSION_LIFETIME.as_secs().cast_signed(),
            now - SESSION_IDLE.as_secs().cast_signed(),
        )?;
        let instant_now = Instant::now();
        let ago = |at: i64| {
            instant_now.checked_sub(Duration::from_secs(
                now.saturating_sub(at).max(0).cast_unsigned(),
            ))
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        for s in live {
            let (Some(key), Some(started), Some(last_seen), Some(account)) = (
                key_of_hex(&s.digest),
                ago(s.started_at),
                ago(s.last_seen_at),
                stored::account(conn, &s.user)?,
            ) else {
                continue;
            };
            sessions.insert(
                key,
                Session {
                    principal: Arc::new(account.principal),
                    csrf: Arc::from(s.csrf),
                    started,
                    last_seen,
                },
            );
        }
        Ok(())
    }

    /// Writes when each live session was last used, so that the next run counts their
    /// idle time from then (called at shutdown; after a crash the next run counts from
    /// the last such write or the sign-in).
    ///
    /// # Errors
    /// The [`StoreError`] of the write.
    pub fn save_last_seen(&self, conn: &duckdb::Connection) -> Result<(), StoreError> {
        let now = unix_now();
        let instant_now = Instant::now();
        let seen: Vec<(String, i64)> = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, s)| {
                let idle = instant_now
                    .duration_since(s.last_seen)
                    .as_secs()
                    .cast_signed();
                (hex(k), now - idle)
            })
            .collect();
        stored::touch_sessions(conn, &seen)
    }

    /// Re-reads the live tokens and their owners' grants (after a token or an account
    /// changed).
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the read; the old copy stays.
    pub fn reload_tokens(&self, conn: &duckdb::Connection) -> Result<(), StoreError> {
        let _in_order = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut owners: HashMap<String, Arc<Principal>> = HashMap::new();
        let mut map = RandomKeyed::default();
        for t in stored::live_tokens(conn)? {
            let owner = if let Some(p) = owners.get(&t.user) {
                Arc::clone(p)
            } else {
                let Some(a) = stored::account(conn, &t.user)? else {
                    continue;
                };
                let p = Arc::new(a.principal);
                owners.insert(t.user.clone(), Arc::clone(&p));
                p
            };
            if let Some(k) = key_of_hex(&t.token_hash) {
                map.insert(k, owner);
            }
        }
        *self.tokens.lock().unwrap_or_else(PoisonError::into_inner) = map;
        Ok(())
    }

    /// Lets `secret` sign in as `principal` in this process only (never stored): what
    /// the benchmarks use to ask their own server.
    pub fn allow_process_token(&self, secret: &str, principal: Principal) {
        self.process_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key(secret), Arc::new(principal));
    }

    /// Ends every session of an account (its password, grants or state changed).
    pub fn end_sessions_of(&self, user: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, s| s.principal.user != user);
    }

    /// The owner of an API token.
    #[must_use]
    pub fn token_owner(&self, secret: &str) -> Option<Arc<Principal>> {
        let tag = self.digests.tag(secret);
        let (key, remembered) = self.digests.key(tag, secret);
        let stored = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let owner = stored.or_else(|| {
            self.process_tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned()
        });
        if owner.is_some() && !remembered {
            self.digests.remember(tag, key);
        }
        owner
    }

    /// The session of a cookie's secret, if it is live; its idle clock restarts.
    #[must_use]
    pub fn session(&self, secret: &str) -> Option<Session> {
        self.with_session(secret, Session::clone)
    }

    /// Who a request's session cookie signs in, its idle clock restarted; for a write,
    /// `write` holds the CSRF header it sent, compared with the session's own here, so
    /// that a read (every tile) copies only the owner out of the session.
    #[must_use]
    pub fn check_session(&self, secret: &str, write: Option<Option<&str>>) -> SessionCheck {
        self.with_session(secret, |s| match write {
            Some(sent) if sent != Some(&*s.csrf) => SessionCheck::WithoutCsrf,
            _ => SessionCheck::Signed(Arc::clone(&s.principal)),
        })
        .unwrap_or(SessionCheck::Unknown)
    }

    /// `f` of the live session of a cookie's secret, its idle clock restarted.
    fn with_session<T>(&self, secret: &str, f: impl FnOnce(&Session) -> T) -> Option<T> {
        let tag = self.digests.tag(secret);
        let (key, remembered) = self.digests.key(tag, secret);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let live = sessions.get_mut(&key).and_then(|s| {
            if now.duration_since(s.started) > SESSION_LIFETIME
                || now.duration_since(s.last_seen) > SESSION_IDLE
            {
                None
            } else {
                s.last_seen = now;
                Some(f(s))
            }
        });
        if live.is_none() {
            sessions.remove(&key);
        } else if !remembered {
            drop(sessions);
            self.digests.remember(tag, key);
        }
        live
    }

    /// Ends a session, here and as kept.
    ///
    /// # Errors
    /// The [`StoreError`] of forgetting the kept one (it is ended here anyway).
    pub fn sign_out(&self, conn: &duckdb::Connection, secret: &str) -> Result<(), StoreError> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key(secret));
        stored::end_session(conn, &digest(secret))
    }

    /// Checks a name and password against the store, counting failures per name and
    /// per client address; on success opens a session.
    ///
    /// # Errors
    /// [`AccountError::Locked`] while the name or the address is locked (the password
    /// is then not even checked), [`AccountError::Credentials`] for a wrong name or
    /// password or a disabled account.
    pub fn sign_in(
        &self,
        conn: &duckdb::Connection,
        name: &str,
        password: &str,
        client: &str,
    ) -> Result<SignedIn, AccountError> {
        let keys = [format!("user:{name}"), format!("addr:{client}")];
        if let Some(minutes) = self.locked(&keys) {
            return Err(AccountError::Locked(minutes));
        }
        let account: Option<Account> = stored::account(conn, name)?;
        let ok = if let Some(a) = &account {
            verify_password(&a.password_hash, password) && a.disabled_at.is_none()
        } else {
            // The same work as a real check, so that timing does not tell which names
            // exist.
            let _ = verify_password(DUMMY_HASH, password);
            false
        };
        let Some(account) = account.filter(|_| ok) else {
            self.fail(&keys);
            return Err(AccountError::Credentials);
        };
        self.clear(&keys[0]);
        let secret = new_secret();
        let now = Instant::now();
        let session = Session {
            principal: Arc::new(account.principal),
            csrf: Arc::from(new_secret()),
            started: now,
            last_seen: now,
        };
        // Kept, so that a restart of the server signs nobody out.
        let at = unix_now();
        stored::add_session(
            conn,
            &stored::StoredSession {
                digest: digest(&secret),
                user: session.principal.user.clone(),
                csrf: session.csrf.to_string(),
                started_at: at,
                last_seen_at: at,
            },
        )?;
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let mut evicted = None;
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| now.duration_since(s.last_seen) <= SESSION_IDLE);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| *k)
            {
                sessions.remove(&oldest);
                evicted = Some(oldest);
            }
        }
        sessions.insert(key(&secret), session.clone());
        drop(sessions);
        // Pushed out here, it must not come back at the next start.
        if let Some(oldest) = evicted {
            stored::end_session(conn, &hex(&oldest))?;
        }
        Ok(SignedIn { secret, session })
    }

    /// Minutes left of the longest lock among `keys`.
    fn locked(&self, keys: &[String]) -> Option<u64> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .filter_map(|k| failures.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now).as_secs().div_ceil(60))
            .max()
    }

    fn fail(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > MAX_SESSIONS {
            failures.retain(|_, f| now.duration_since(f.first) <= LOCKOUT);
        }
        for k in keys {
            let f = failures.entry(k.clone()).or_insert(Failures {
                count: 0,
                first: now,
                locked_until: None,
            });
            if now.duration_since(f.first) > LOCKOUT {
                *f = Failures {
                    count: 0,
                    first: now,
                    locked_until: None,
                };
            }
            f.count += 1;
            let limit = if k.starts_with("addr:") {
                MAX_ADDRESS_FAILURES
            } else {
                MAX_FAILURES
            };
            if f.count >= limit {
                f.locked_until = Some(now + LOCKOUT);
            }
        }
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// Seconds since the Unix epoch, as the kept sessions count time.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().cast_signed())
}

/// A valid argon2id hash of no one's password, checked against when a name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Ko0VcQ0Xn9sPYUZbKWNjKs9SX6dNyxTyu9JeNaUvQM";

/// A new account: checks the password and hashes it.
///
/// # Errors
/// [`AccountError::WeakPassword`], or the store's refusal (a taken name).
pub fn add_account(
    conn: &duckdb::Connection,
    principal: Principal,
    password: &str,
) -> Result<(), AccountError> {
    let account = Account {
        principal,
        password_hash: hash_password(password)?,
        created_at: calendar::utc_timestamp(),
        disabled_at: None,
    };
    stored::add(conn, &account)?;
    Ok(())
}

/// An evaluator's sample (第三方评估抽样): `grants` with every evaluator grant
/// replaced by one per village of a fresh draw of `n` among the villages of `names`
/// (code → name and level) inside `within` (see [`draw_villages`]), each until
/// `until`; the other roles stay. Returns the new grants and the villages drawn (none
/// when no village lies inside).
#[must_use]
pub fn with_evaluator_sample<H: std::hash::BuildHasher>(
    grants: &[Grant],
    names: &HashMap<String, (String, AreaLevel), H>,
    within: &str,
    n: usize,
    seed: u64,
    until: Option<&str>,
) -> (Vec<Grant>, Vec<String>) {
    let inside: Vec<&str> = names
        .iter()
        .filter(|(code, (_, level))| *level == AreaLevel::Village && access::within(code, within))
        .map(|(code, _)| code.as_str())
        .collect();
    let drawn = draw_villages(&inside, n, seed);
    let mut kept: Vec<Grant> = grants
        .iter()
        .filter(|g| g.role != Role::Evaluator)
        .cloned()
        .collect();
    kept.extend(drawn.iter().map(|v| Grant {
        role: Role::Evaluator,
        area: v.clone(),
        until: until.map(str::to_owned),
        department: None,
    }));
    (kept, drawn)
}

/// A new API token for `user`: its record (kept) and its secret (shown once).
///
/// # Errors
/// The store's refusal.
pub fn add_token(
    conn: &duckdb::Connection,
    user: &str,
    label: &str,
) -> Result<(TokenRecord, String), StoreError> {
    let secret = format!("pct_{}", new_secret());
    let record = TokenRecord {
        id: format!("t-{}", &new_secret()[..12]),
        user: user.to_owned(),
        label: label.to_owned(),
        token_hash: digest(&secret),
        created_at: calendar::utc_timestamp(),
    };
    stored::add_token(conn, &record)?;
    Ok((record, secret))
}

/// Most audit lines waiting to be written; a request that would add more waits.
pub const AUDIT_QUEUE: usize = 65_536;

/// Appends audit lines from request handlers, written by one background thread in
/// batches: a tile request does not wait for a database write, and nothing is lost,
/// since a full queue makes the request wait. A thread, not a task: the service
/// outlives any one runtime in tests.
#[derive(Debug, Clone)]
pub struct AuditLog {
    sender: std::sync::mpsc::SyncSender<AuditRecord>,
    /// When each repeatable line (see [`AuditLog::record_once`]) was last written, by a
    /// hash of who and what.
    recent: Arc<Mutex<HashMap<u64, Instant>>>,
}

/// How long a repeated read of the same thing by the same person is one line: a map
/// asks for the same tiles again as its user pans back and forth.
pub const REPEAT_WINDOW: Duration = Duration::from_mins(10);

impl AuditLog {
    /// Starts the writer.
    #[must_use]
    pub fn start(store: Store) -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<AuditRecord>(AUDIT_QUEUE);
        std::thread::spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut lines = vec![first];
                lines.extend(receiver.try_iter().take(4095));
                let count = lines.len() as u64;
                let result = store.conn().and_then(|c| stored::append_audit(&c, &lines));
                if let Err(e) = result {
                    // Never the lines themselves: they name who read what.
                    tracing::error!(error = %e, lines = count, "cannot write the audit log");
                }
            }
        });
        Self {
            sender,
            recent: Arc::default(),
        }
    }

    /// Records a line unless the same person read the same thing (`what`) within
    /// [`REPEAT_WINDOW`]: for reads a page repeats, such as map tiles. The line's
    /// route and detail are made only when it is written.
    pub fn record_once(
        &self,
        user: &str,
        action: &str,
        what: impl std::hash::Hash,
        line: impl FnOnce() -> (String, String),
    ) {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (user, action, what).hash(&mut hasher);
        let key = hasher.finish();
        let now = Instant::now();
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent
                .get(&key)
                .is_some_and(|t| now.duration_since(*t) < REPEAT_WINDOW)
            {
                return;
            }
            if recent.len() >= AUDIT_QUEUE {
                recent.retain(|_, t| now.duration_since(*t) < REPEAT_WINDOW);
            }
            recent.insert(key, now);
        }
        let (route, detail) = line();
        self.record(Some(user), action, Some(route), Some(detail), None);
    }

    /// Records a line, stamped now.
    pub fn record(
        &self,
        user: Option<&str>,
        action: &str,
        route: Option<String>,
        detail: Option<String>,
        rows: Option<i64>,
    ) {
        let line = AuditRecord {
            at: calendar::utc_timestamp(),
            user: user.map(str::to_owned),
            action: action.to_owned(),
            route,
            detail,
            rows,
        };
        if self.sender.send(line).is_err() {
            tracing::error!("the audit log's writer has stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct hors"));
        assert!(matches!(
            hash_password("short"),
            Err(AccountError::WeakPassword)
        ));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_names_cost_the_same() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn a_stored_digest_reads_back_as_the_key_of_its_secret() {
        let s = new_secret();
        assert_eq!(key_of_hex(&digest(&s)), Some(key(&s)));
        assert_eq!(key_of_hex("zz"), None);
    }

    #[test]
    fn secrets_are_random_and_only_their_digest_is_kept() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_secret());
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }

    fn someone() -> Arc<Principal> {
        Arc::new(Principal {
            user: "analyst".into(),
            display: "分析员".into(),
            grants: Vec::new(),
        })
    }

    #[test]
    fn a_remembered_token_stops_working_once_revoked() {
        let accounts = Accounts::default();
        let secret = new_secret();
        accounts
            .tokens
            .lock()
            .unwrap()
            .insert(key(&secret), someone());
        assert!(accounts.token_owner(&new_secret()).is_none());
        assert_eq!(
            accounts.digests.known.lock().unwrap().len(),
            0,
            "a wrong secret is not remembered"
        );
        for _ in 0..2 {
            assert_eq!(accounts.token_owner(&secret).unwrap().user, "analyst");
        }
        assert_eq!(accounts.digests.known.lock().unwrap().len(), 1);
        // What a reload after a revocation leaves: the memory of the secret stays, the token does not.
        accounts.tokens.lock().unwrap().clear();
        assert!(accounts.token_owner(&secret).is_none());
    }

    /// Accounts holding one live session of [`someone`] with the CSRF token `csrf`, and
    /// its secret.
    fn one_session(csrf: &str) -> (Accounts, String) {
        let accounts = Accounts::default();
        let secret = new_secret();
        let now = Instant::now();
        accounts.sessions.lock().unwrap().insert(
            key(&secret),
            Session {
                principal: someone(),
                csrf: Arc::from(csrf),
                started: now,
                last_seen: now,
            },
        );
        (accounts, secret)
    }

    #[test]
    fn a_remembered_session_stops_working_once_ended() {
        let (accounts, secret) = one_session("c");
        for _ in 0..2 {
            assert_eq!(accounts.session(&secret).unwrap().principal.user, "analyst");
        }
        accounts.end_sessions_of("analyst");
        assert!(accounts.session(&secret).is_none());
    }

    #[test]
    fn a_session_signs_reads_and_writes_with_its_csrf_token_only() {
        let (accounts, secret) = one_session("token");
        let signed =
            |check: SessionCheck| matches!(check, SessionCheck::Signed(p) if p.user == "analyst");
        assert!(signed(accounts.check_session(&secret, None)));
        assert!(signed(accounts.check_session(&secret, Some(Some("token")))));
        assert!(matches!(
            accounts.check_session(&secret, Some(Some("other"))),
            SessionCheck::WithoutCsrf
        ));
        assert!(matches!(
            accounts.check_session(&secret, Some(None)),
            SessionCheck::WithoutCsrf
        ));
        assert!(matches!(
            accounts.check_session(&new_secret(), None),
            SessionCheck::Unknown
        ));
    }

    #[test]
    fn tags_differ_by_secret_and_by_process() {
        let (a, b) = (Digests::default(), Digests::default());
        let s = new_secret();
        assert_eq!(a.tag(&s), a.tag(&s));
        assert_ne!(a.tag(&s), a.tag(&new_secret()));
        assert_ne!(a.tag(&s), b.tag(&s));
    }
}
