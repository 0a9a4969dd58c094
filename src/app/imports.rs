//! Imports through the running server (上传导入). Each upload is a job: its files are
//! staged on disk beside the database, read and judged on a blocking thread (one dry
//! run at a time, the others queued), and the job waits with its report until an admin
//! commits or discards it. A commit writes a new data version in one transaction and
//! swaps the snapshot; requests under way finish on the old one.
//!
//! Jobs live in memory: a restart forgets the uncommitted ones (their files are swept
//! after [`PENDING_FOR`]); committed imports are in the store's list for good.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::calendar;
use crate::import::Report;
use crate::import::run::{self, Committed, Planned, Progress, Request, RunError};
use crate::store::{self, StoreError};

use super::App;

/// The largest upload by default (all its files together): a county's million-person
/// export is about 110 MB as XLSX.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 1 << 30;
/// Uncommitted jobs kept at once; another upload waits until one is committed or
/// discarded.
pub const MAX_PENDING: usize = 16;
/// How long an uncommitted job is kept.
pub const PENDING_FOR: Duration = Duration::from_hours(24);

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the dry run before it to finish.
    Queued,
    /// Being read and judged.
    Checking,
    /// Judged: the report is ready; committable when it has no error.
    Ready,
    /// A file could not be read at all: the error says which and why.
    Failed,
    /// Being written.
    Committing,
    /// Written as a new data version.
    Committed,
}

/// A job as the API shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    /// The job's id, which its commit keeps as the import's id.
    pub id: String,
    /// `divisions`, `boundaries`, `households` or `gps`.
    pub kind: &'static str,
    /// Who uploaded it.
    pub by: String,
    /// When, UTC.
    pub uploaded_at: String,
    /// The files (name, bytes).
    pub files: Vec<(String, u64)>,
    /// Where it stands.
    pub phase: Phase,
    /// Rows (or features) read so far.
    pub rows_read: u64,
    /// The dry run's report, once judged.
    pub report: Option<Arc<Report>>,
    /// Why it failed.
    pub error: Option<String>,
    /// The same in Chinese.
    pub error_zh: Option<String>,
    /// What the commit wrote.
    pub committed: Option<Committed>,
}

#[derive(Debug)]
struct Job {
    view: JobView,
    request: Request,
    dir: PathBuf,
    progress: Arc<Progress>,
    /// The plan, and the data version it was judged against; dropped (to be made
    /// again at commit) when another dry run finishes, so that one plan at most is held.
    plan: Option<(i64, Arc<Planned>)>,
    since: Instant,
}

/// Why a job cannot do what is asked.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job (or it was discarded, or the server restarted).
    #[error("no import {0} is pending on this server")]
    Unknown(String),
    /// The job is not in a state to do it.
    #[error("{0}")]
    Conflict(String),
    /// Too many jobs wait uncommitted.
    #[error("{MAX_PENDING} imports are waiting to be committed or discarded")]
    Full,
    /// The upload's files cannot be staged.
    #[error("cannot stage the upload: {0}")]
    Staging(#[from] std::io::Error),
    /// The import failed (a commit that found errors, a store that refused).
    #[error(transparent)]
    Run(#[from] RunError),
}

/// The jobs of this server.
#[derive(Debug)]
pub struct Imports {
    dir: PathBuf,
    upload_limit: AtomicU64,
    jobs: Mutex<HashMap<String, Job>>,
    checks: tokio::sync::Semaphore,
}

impl Imports {
    /// Jobs staged under `dir`; what a crashed run left there over [`PENDING_FOR`]
    /// ago is swept.
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        sweep(&dir);
        Self {
            dir,
            upload_limit: AtomicU64::new(DEFAULT_UPLOAD_LIMIT),
            jobs: Mutex::new(HashMap::new()),
            checks: tokio::sync::Semaphore::new(1),
        }
    }

    /// The largest upload, in bytes.
    #[must_use]
    pub fn upload_limit(&self) -> u64 {
        self.upload_limit.load(Ordering::Relaxed)
    }

    /// Sets the largest upload (`serve --upload-limit`).
    pub fn set_upload_limit(&self, bytes: u64) {
        self.upload_limit.store(bytes, Ordering::Relaxed);
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new job's id and the empty folder its files go to; [`JobError::Full`] while
    /// [`MAX_PENDING`] jobs wait.
    ///
    /// # Errors
    /// [`JobError::Full`], or [`JobError::Staging`] when the folder cannot be made.
    pub fn stage(&self, kind: &str) -> Result<(String, PathBuf), JobError> {
        self.forget_expired();
        let pending = self
            .jobs()
            .values()
            .filter(|j| j.view.phase != Phase::Committed)
            .count();
        if pending >= MAX_PENDING {
            return Err(JobError::Full);
        }
        let now = calendar::utc_timestamp();
        let id = format!(
            "{}-{:08x}",
            run::import_id(&now, kind),
            rand::random::<u32>()
        );
        let dir = self.dir.join(&id);
        std::fs::create_dir_all(&dir)?;
        Ok((id, dir))
    }

    /// Takes an uploaded job in, queued for its dry run.
    pub fn add(
        &self,
        (id, dir): (String, PathBuf),
        request: Request,
        by: &str,
        files: Vec<(String, u64)>,
    ) {
        let view = JobView {
            id: id.clone(),
            kind: request.kind(),
            by: by.to_owned(),
            uploaded_at: calendar::utc_timestamp(),
            files,
            phase: Phase::Queued,
            rows_read: 0,
            report: None,
            error: None,
            error_zh: None,
            committed: None,
        };
        self.jobs().insert(
            id,
            Job {
                view,
                request,
                dir,
                progress: Arc::new(Progress::default()),
                plan: None,
                since: Instant::now(),
            },
        );
    }

    /// A job as it stands.
    #[must_use]
    pub fn view(&self, id: &str) -> Option<JobView> {
        self.jobs().get(id).map(|j| {
            let mut view = j.view.clone();
            view.rows_read = j.progress.rows();
            view
        })
    }

    /// Every job of this server, newest first.
    #[must_use]
    pub fn views(&self) -> Vec<JobView> {
        let mut all: Vec<JobView> = self
            .jobs()
            .values()
            .map(|j| {
                let mut view = j.view.clone();
                view.rows_read = j.progress.rows();
                view
            })
            .collect();
        all.sort_by(|a, b| b.id.cmp(&a.id));
        all
    }

    /// Forgets an uncommitted job and deletes its files.
    ///
    /// # Errors
    /// [`JobError::Unknown`]; [`JobError::Conflict`] for a job being checked, written
    /// or already committed.
    pub fn discard(&self, id: &str) -> Result<(), JobError> {
        let mut jobs = self.jobs();
        let job = jobs
            .get(id)
            .ok_or_else(|| JobError::Unknown(id.to_owned()))?;
        if matches!(
            job.view.phase,
            Phase::Checking | Phase::Committing | Phase::Committed
        ) {
            return Err(JobError::Conflict(format!(
                "import {id} is {}: it cannot be discarded now",
                phase_zh(job.view.phase)
            )));
        }
        if let Some(job) = jobs.remove(id) {
            let _ = std::fs::remove_dir_all(&job.dir);
        }
        Ok(())
    }

    fn forget_expired(&self) {
        let mut jobs = self.jobs();
        let expired: Vec<String> = jobs
            .iter()
            .filter(|(_, j)| {
                j.since.elapsed() > PENDING_FOR
                    && matches!(
                        j.view.phase,
                        Phase::Ready | Phase::Failed | Phase::Committed
                    )
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(job) = jobs.remove(&id) {
                let _ = std::fs::remove_dir_all(&job.dir);
            }
        }
    }

    fn set(&self, id: &str, change: impl FnOnce(&mut Job)) {
        if let Some(job) = self.jobs().get_mut(id) {
            change(job);
        }
    }
}

/// A phase in the words of the report's readers.
#[must_use]
pub fn phase_zh(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued => "排队中",
        Phase::Checking => "检查中",
        Phase::Ready => "待提交",
        Phase::Failed => "读取失败",
        Phase::Committing => "写入中",
        Phase::Committed => "已提交",
    }
}

/// Removes staged folders older than [`PENDING_FOR`] (a crashed run's uploads).
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > PENDING_FOR);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The staged files of a job, in upload order.
fn staged_files(job: &Job) -> Vec<PathBuf> {
    job.view
        .files
        .iter()
        .map(|(name, _)| job.dir.join(name))
        .collect()
}

impl App {
    /// Runs a job's dry run, after the ones before it: reads and judges its files
    /// against the data in force, and keeps the report (and the plan, until another
    /// dry run finishes).
    pub async fn check_import(&self, id: &str) {
        let Ok(_turn) = self.imports.checks.acquire().await else {
            return;
        };
        let Some((request, files, progress)) = self.imports.jobs().get_mut(id).map(|job| {
            job.view.phase = Phase::Checking;
            (
                job.request.clone(),
                staged_files(job),
                Arc::clone(&job.progress),
            )
        }) else {
            return;
        };
        let outcome = self
            .store
            .run(move |c| {
                let version = store::data_version(c)?;
                Ok((
                    version,
                    run::plan(Some(c), &request, &files, &progress)
                        .map_err(|e| (e.to_string(), e.zh())),
                ))
            })
            .await;
        let mut jobs = self.imports.jobs();
        let plan = match outcome {
            Ok((version, Ok(planned))) => Ok((version, Arc::new(planned))),
            Ok((_, Err(read))) => Err(read),
            Err(store) => Err((
                store.to_string(),
                "数据库出错，未能检查（详见服务器日志）".to_owned(),
            )),
        };
        if plan.is_ok() {
            for other in jobs.values_mut() {
                other.plan = None;
            }
        }
        if let Some(job) = jobs.get_mut(id) {
            match plan {
                Ok((version, planned)) => {
                    job.view.report = Some(Arc::new(planned.report().clone()));
                    job.view.phase = Phase::Ready;
                    job.plan = Some((version, planned));
                }
                Err((reason, reason_zh)) => {
                    job.view.error = Some(reason);
                    job.view.error_zh = Some(reason_zh);
                    job.view.phase = Phase::Failed;
                }
            }
        }
    }

    /// Commits a judged job as a new data version and swaps the snapshot. The plan
    /// is made again when the data changed since the dry run (or the plan was let go);
    /// a new report with errors is kept and refused.
    ///
    /// # Errors
    /// [`JobError::Unknown`]; [`JobError::Conflict`] for a job not ready;
    /// [`JobError::Run`] for a report with errors, nothing to write or a store failure
    /// (nothing written; the job is ready again).
    pub async fn commit_import(&self, id: &str) -> Result<Committed, JobError> {
        let (request, files, progress, plan) = {
            let mut jobs = self.imports.jobs();
            let job = jobs
                .get_mut(id)
                .ok_or_else(|| JobError::Unknown(id.to_owned()))?;
            if job.view.phase != Phase::Ready {
                return Err(JobError::Conflict(format!(
                    "import {id} is {}: only a checked import (待提交) can be committed",
                    phase_zh(job.view.phase)
                )));
            }
            let errors = job.view.report.as_ref().map_or(0, |r| r.errors());
            if errors > 0 {
                return Err(JobError::Run(RunError::Errors(errors)));
            }
            job.view.phase = Phase::Committing;
            (
                job.request.clone(),
                staged_files(job),
                Arc::clone(&job.progress),
                job.plan.take(),
            )
        };
        let job_id = id.to_owned();
        let outcome = self
            .store
            .run(move |c| {
                let version = store::data_version(c)?;
                let planned = match plan {
                    Some((judged, planned)) if judged == version => planned,
                    _ => Arc::new(
                        run::plan(Some(c), &request, &files, &progress)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    ),
                };
                let now = calendar::utc_timestamp();
                let committed = run::commit(c, &planned, &job_id, &now);
                Ok((planned, committed))
            })
            .await;
        let (planned, committed) = match outcome {
            Ok(done) => done,
            Err(e) => {
                self.imports.set(id, |job| job.view.phase = Phase::Ready);
                return Err(JobError::Run(RunError::Store(e)));
            }
        };
        let committed = match committed {
            Ok(committed) => committed,
            Err(e) => {
                self.imports.set(id, |job| {
                    job.view.report = Some(Arc::new(planned.report().clone()));
                    job.view.phase = Phase::Ready;
                });
                return Err(JobError::Run(e));
            }
        };
        drop(planned);
        // The data is written; a snapshot that fails to build leaves the old one
        // serving until the next reload, and the import stands in the list.
        if let Err(e) = self.reload().await {
            tracing::error!(error = %e, "the snapshot of the new data version failed to build");
        }
        self.imports.set(id, |job| {
            job.view.phase = Phase::Committed;
            job.view.committed = Some(committed.clone());
            let _ = std::fs::remove_dir_all(&job.dir);
        });
        Ok(committed)
    }
}
