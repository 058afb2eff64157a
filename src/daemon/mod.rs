//! The per-user companion daemon: owns every session and answers every
//! connected browser and the CLI over the local socket.

pub mod activity;
mod connection;
pub mod events;
mod router;
pub mod session;

use crate::config::{Config, ConfigError};
use crate::ipc;
use crate::paths::Paths;
use crate::protocol::StoreStatus;
use crate::util::lock;
use activity::{Activity, ActivityGuard};
use session::{AppKey, Session, SessionDeps};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Shared state of the running daemon.
pub struct Daemon {
    pub paths: Paths,
    config: Mutex<ConfigCache>,
    sessions: Mutex<HashMap<AppKey, Arc<Session>>>,
    deps: Arc<SessionDeps>,
    activity: Activity,
    next_conn: AtomicU64,
}

/// `config.toml`, re-read when its modification time changes so `install`
/// needs no daemon restart.
struct ConfigCache {
    config: Arc<Config>,
    mtime: Option<SystemTime>,
}

impl Daemon {
    pub fn config(&self) -> Result<Arc<Config>, ConfigError> {
        let path = self.paths.config_file();
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let mut cache = lock(&self.config);
        if cache.mtime != mtime {
            cache.config = Arc::new(Config::load(&path)?);
            cache.mtime = mtime;
        }
        Ok(Arc::clone(&cache.config))
    }

    fn activity(&self) -> ActivityGuard {
        self.activity.guard()
    }

    fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The one session object of an app, created on first use (the stored
    /// session is loaded lazily by the session itself).
    pub fn session(&self, key: AppKey, app: &crate::config::AppConfig) -> Arc<Session> {
        let mut sessions = lock(&self.sessions);
        let s = sessions
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Session::new(key, Arc::clone(&self.deps))));
        s.update_app_config(app);
        Arc::clone(s)
    }

    pub fn sessions(&self) -> Vec<Arc<Session>> {
        lock(&self.sessions).values().cloned().collect()
    }

    /// The keychain backend, for `status`.
    pub fn store_status(&self) -> StoreStatus {
        let info = self.deps.store.describe();
        StoreStatus {
            kind: info.kind.to_string(),
            description: info.description,
            persistent: info.persistent,
        }
    }
}

/// Options of `logto-companion daemon`.
pub struct DaemonOptions {
    /// Started by a host or the CLI: print the readiness line, then let go
    /// of stdio.
    pub detach: bool,
}

/// Runs the daemon until it is idle for the configured time or gets
/// a stop request (`ipc::shutdown_signal`: SIGTERM/SIGINT on Unix; console
/// Ctrl-C/Break/close or the named stop event on Windows).
///
/// A detached daemon reports on stdout, once: `ready`, or `error: <why>` for
/// anything that stops it before it listens (a bad config, a socket it
/// cannot bind), so the host or CLI that started it can say why.
pub fn run(paths: Paths, opts: DaemonOptions) -> anyhow::Result<()> {
    let detach = opts.detach;
    let result = run_inner(paths, opts);
    if let Err(e) = &result {
        tracing::error!("daemon stopped: {e:#}");
        if detach && !READY_SENT.load(Ordering::SeqCst) {
            println!("error: {e:#}");
        }
    }
    result
}

/// Set once the readiness line went out.
static READY_SENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long shutdown waits for refreshes in flight (HTTP timeout + a
/// keychain write fit in it).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How long a new daemon waits for an exiting one to let go of the lock
/// (longer than the exiting one's shutdown grace).
const LOCK_WAIT: Duration = Duration::from_secs(25);

/// Takes the daemon lock, waiting while a previous daemon is still exiting
/// (it holds the lock but no longer answers). `Ok(None)`: another daemon is
/// running and answering.
fn bind_or_wait(paths: &Paths) -> anyhow::Result<Option<ipc::Bound>> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match ipc::bind(paths) {
            Ok(b) => return Ok(Some(b)),
            Err(ipc::BindError::AlreadyRunning(lock)) => {
                if ipc::connect_existing(paths).is_ok() {
                    return Ok(None);
                }
                if std::time::Instant::now() > deadline {
                    anyhow::bail!(
                        "another daemon holds {} but does not answer on {}",
                        lock.display(),
                        paths.socket().display()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn signal_ready() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", ipc::READY_LINE);
    let _ = out.flush();
    READY_SENT.store(true, Ordering::SeqCst);
}

fn run_inner(paths: Paths, opts: DaemonOptions) -> anyhow::Result<()> {
    ipc::harden_process();
    let config = Config::load(&paths.config_file())?;
    let Some(bound) = bind_or_wait(&paths)? else {
        if opts.detach {
            // A racing starter lost: the winner answers.
            tracing::info!("daemon already running");
            signal_ready();
            return Ok(());
        }
        anyhow::bail!(
            "a companion daemon is already running for this user ({})",
            paths.socket().display()
        );
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut listener = bound.listen()?;
        let activity = Activity::new();
        let deps = Arc::new(SessionDeps::new(&config, &paths, activity.clone())?);
        let daemon = Arc::new(Daemon {
            paths: paths.clone(),
            config: Mutex::new(ConfigCache {
                config: Arc::new(config.clone()),
                mtime: std::fs::metadata(paths.config_file())
                    .and_then(|m| m.modified())
                    .ok(),
            }),
            sessions: Mutex::new(HashMap::new()),
            deps,
            activity,
            next_conn: AtomicU64::new(1),
        });
        let _ = std::fs::write(paths.pid_file(), std::process::id().to_string());
        tracing::info!(pid = std::process::id(), socket = %paths.socket().display(), "daemon listening");
        if opts.detach {
            signal_ready();
            ipc::detach_stdio();
        } else {
            eprintln!("logto-companion daemon listening on {}", paths.socket().display());
        }
        let idle = Duration::from_secs(config.idle_timeout_secs);
        let result = tokio::select! {
            r = accept_loop(Arc::clone(&daemon), &mut listener) => r,
            _ = idle_exit(Arc::clone(&daemon), idle) => {
                tracing::info!("idle for {idle:?}, exiting");
                Ok(())
            }
            _ = ipc::shutdown_signal(&paths) => {
                tracing::info!("signal received, exiting");
                Ok(())
            }
        };
        // Stop accepting first, then let refreshes in flight finish; the
        // single-instance lock goes only with `listener`, at the end.
        listener.stop_accepting();
        let sessions = daemon.sessions();
        let quiet = async {
            let mut held = Vec::new();
            for s in &sessions {
                held.push(s.quiesce().await);
            }
            held
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, quiet).await.is_err() {
            tracing::warn!("a refresh was still running after {SHUTDOWN_GRACE:?}; exiting anyway");
        }
        let _ = std::fs::remove_file(paths.pid_file());
        drop(listener);
        result
    })
}

async fn accept_loop(daemon: Arc<Daemon>, listener: &mut ipc::Listener) -> anyhow::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let id = daemon.next_conn_id();
        let guard = daemon.activity();
        let daemon = Arc::clone(&daemon);
        tokio::spawn(async move {
            connection::serve(daemon, stream, id).await;
            drop(guard);
        });
    }
}

async fn idle_exit(daemon: Arc<Daemon>, idle: Duration) {
    if idle.is_zero() {
        std::future::pending::<()>().await;
    }
    let mut rx = daemon.activity.subscribe();
    loop {
        if rx.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(idle) => {
                if *rx.borrow() == 0 {
                    return;
                }
            }
            _ = rx.changed() => {}
        }
    }
}
