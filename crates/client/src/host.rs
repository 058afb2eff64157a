//! Host mode: what the browser starts for every `connectNative`.
//!
//! A relay and nothing more: frames from stdin go to the daemon socket,
//! frames from the daemon go to stdout. It holds no tokens and no OIDC code,
//! and it uses plain threads (no async runtime, no TLS) because the browser
//! pays its start-up on every connection.
//!
//! What it does add:
//! - the transport handshake (`connect` with the caller's origin);
//! - limits: the daemon owns the configured `max_frame` and answers a frame
//!   above it with `message_too_large` (null id) before closing the
//!   connection; the host relays that answer and ends the port, as the
//!   protocol says. The host itself reads at most [`HOST_MAX_INBOUND`] (what
//!   Chrome can send at all), so a broken browser announcing 4 GiB costs
//!   nothing. A daemon reply above Chrome's 1 MiB becomes an error;
//! - nothing per OS: on Windows stdin/stdout stay binary as they are
//!   (Rust's stdio writes raw bytes to the browser's pipes, no CRT text
//!   mode), and `--parent-window=<hwnd>` after the origin is ignored by
//!   `main`'s argv check;
//! - resilience: when the daemon dies, every request in flight gets one
//!   `daemon_unavailable`, the daemon is restarted, and the last `hello` is
//!   replayed so the next request works as if nothing happened.

use crate::ipc::{connect_or_start, Stream};
use crate::paths::Paths;
use logto_companion_protocol::codec::{read_frame, write_frame, FrameError, MAX_OUTBOUND};
use logto_companion_protocol::{reply_err, Connect, ConnectInfo, ErrorCode, RpcError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The id the host gives a replayed `hello`; its reply is swallowed.
const REPLAY_ID: &str = "__logto_companion_host_replay__";

/// Just enough of a frame to track it; the rest is relayed untouched.
/// The largest frame the host reads from the browser: Chrome's own limit
/// for extension → host messages. The configured, smaller `max_frame` is
/// enforced by the daemon (the thin host reads no config file).
pub const HOST_MAX_INBOUND: usize = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    error: Option<PeekError>,
}

#[derive(Deserialize)]
struct PeekError {
    code: String,
}

fn peek(frame: &[u8]) -> Option<Peek> {
    serde_json::from_slice(frame).ok()
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

/// The current daemon connection. `gen` counts reconnections so that two
/// threads noticing the same failure reconnect once.
struct Link {
    stream: Option<Stream>,
    gen: u64,
}

struct Relay {
    paths: Paths,
    origin: String,
    link: Mutex<Link>,
    link_changed: Condvar,
    /// Requests sent to the daemon and not answered yet, with the link
    /// generation they were sent on.
    pending: Mutex<HashMap<String, (Value, u64)>>,
    /// The last `hello` frame, replayed after a reconnect.
    hello: Mutex<Option<Vec<u8>>>,
    stdout: Mutex<io::Stdout>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Relay {
    fn write_stdout(&self, frame: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.stdout);
        match write_frame(&mut *out, frame, MAX_OUTBOUND) {
            Ok(()) => Ok(()),
            Err(FrameError::Io(e)) => Err(e),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }

    fn answer_error(&self, id: &Value, err: &RpcError) {
        if let Err(e) = self.write_stdout(&reply_err(id, err)) {
            crate::log!(Debug, "stdout closed while answering an error: {e}");
        }
    }

    /// Opens a new daemon connection (starting the daemon if needed),
    /// presents the origin and replays the last `hello`.
    fn open(&self) -> Result<Stream, String> {
        let mut stream = connect_or_start(&self.paths).map_err(|e| e.to_string())?;
        let connect = Connect {
            connect: ConnectInfo {
                origin: self.origin.clone(),
                client: "host".into(),
                pid: std::process::id(),
            },
        };
        let frame = serde_json::to_vec(&connect).map_err(|e| e.to_string())?;
        write_frame(&mut stream, &frame, MAX_OUTBOUND).map_err(|e| e.to_string())?;
        if let Some(hello) = lock(&self.hello).clone() {
            if let Ok(mut v) = serde_json::from_slice::<Value>(&hello) {
                v["id"] = Value::String(REPLAY_ID.into());
                let replay = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
                write_frame(&mut stream, &replay, MAX_OUTBOUND).map_err(|e| e.to_string())?;
            }
        }
        Ok(stream)
    }

    /// Replaces the link of generation `seen_gen` with a fresh one, unless
    /// another thread already did.
    fn reconnect(&self, link: &mut Link, seen_gen: u64) -> Result<(), String> {
        if link.gen != seen_gen && link.stream.is_some() {
            return Ok(());
        }
        link.stream = None;
        let stream = self.open()?;
        link.stream = Some(stream);
        link.gen += 1;
        crate::log!(Debug, "connected to the daemon (link {})", link.gen);
        self.link_changed.notify_all();
        Ok(())
    }

    /// Answers every request sent on a generation up to `gen` with
    /// `daemon_unavailable`: their daemon is gone.
    fn fail_pending(&self, gen: u64) {
        let failed: Vec<Value> = {
            let mut pending = lock(&self.pending);
            let keys: Vec<String> = pending
                .iter()
                .filter(|(_, (_, g))| *g <= gen)
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| pending.remove(&k).map(|(id, _)| id))
                .collect()
        };
        if !failed.is_empty() {
            crate::log!(
                Warn,
                "daemon connection lost with {} request(s) in flight",
                failed.len()
            );
        }
        let err = RpcError::new(
            ErrorCode::DaemonUnavailable,
            "the companion daemon stopped while handling this request; it is being restarted, retry",
        );
        for id in failed {
            self.answer_error(&id, &err);
        }
    }

    /// Sends one browser frame to the daemon, reconnecting once if the link
    /// is down.
    fn forward(&self, frame: &[u8]) {
        let peeked = peek(frame);
        let id = peeked
            .as_ref()
            .and_then(|p| p.id.clone())
            .filter(|v| !v.is_null());
        if peeked.as_ref().and_then(|p| p.method.as_deref()) == Some("hello") {
            *lock(&self.hello) = Some(frame.to_vec());
        }
        let mut link = lock(&self.link);
        for attempt in 0..2 {
            let gen = link.gen;
            if let Some(id) = &id {
                lock(&self.pending).insert(id_key(id), (id.clone(), gen));
            }
            let sent = match link.stream.as_mut() {
                Some(s) => match write_frame(s, frame, usize::MAX) {
                    Ok(()) => true,
                    Err(e) => {
                        crate::log!(Debug, "write to the daemon failed (link {gen}): {e}");
                        false
                    }
                },
                None => false,
            };
            if sent {
                return;
            }
            if let Some(id) = &id {
                lock(&self.pending).remove(&id_key(id));
            }
            if attempt == 0 {
                if let Err(e) = self.reconnect(&mut link, gen) {
                    crate::log!(Warn, "cannot reach the daemon: {e}");
                    drop(link);
                    if let Some(id) = &id {
                        self.answer_error(
                            id,
                            &RpcError::new(ErrorCode::DaemonUnavailable, e.to_string()),
                        );
                    }
                    return;
                }
            }
        }
        drop(link);
        if let Some(id) = &id {
            self.answer_error(
                id,
                &RpcError::new(
                    ErrorCode::DaemonUnavailable,
                    "the companion daemon is not accepting requests",
                ),
            );
        }
    }

    /// Daemon → browser. Runs on its own thread for the life of the host.
    fn pump_from_daemon(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let (reader, gen) = {
                let mut link = lock(&self.link);
                while link.stream.is_none() {
                    let gen = link.gen;
                    match self.reconnect(&mut link, gen) {
                        Ok(()) => backoff = Duration::from_millis(50),
                        Err(e) => {
                            crate::log!(Warn, "daemon unreachable, retrying in {backoff:?}: {e}");
                            let (l, _) = self
                                .link_changed
                                .wait_timeout(link, backoff)
                                .unwrap_or_else(|p| p.into_inner());
                            link = l;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                let Some(stream) = link.stream.as_ref() else {
                    continue;
                };
                match stream.try_clone() {
                    Ok(r) => (r, link.gen),
                    Err(e) => {
                        crate::log!(Warn, "cannot clone the daemon stream: {e}");
                        link.stream = None;
                        continue;
                    }
                }
            };
            self.pump_one(reader, gen);
            // The daemon connection ended: fail what was in flight on it
            // and reconnect now, so the next request finds a live daemon.
            // Both under the link lock: `forward` holds it while it records
            // a request and retries it on a new link, so a request being
            // retried is never failed here as well.
            let mut link = lock(&self.link);
            self.fail_pending(gen);
            if link.gen == gen {
                if let Err(e) = self.reconnect(&mut link, gen) {
                    crate::log!(Warn, "reconnect failed: {e}");
                }
            }
        }
    }

    fn pump_one(&self, reader: Stream, gen: u64) {
        // Buffered: a frame's prefix and body arrive in one read, not two.
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, reader);
        loop {
            let frame = match read_frame(&mut reader, usize::MAX) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    crate::log!(Warn, "daemon closed the connection (link {gen})");
                    return;
                }
                Err(e) => {
                    crate::log!(Warn, "daemon connection failed (link {gen}): {e}");
                    return;
                }
            };
            let peeked = peek(&frame);
            let closing = peeked.as_ref().is_some_and(|p| {
                p.id.as_ref().is_none_or(Value::is_null)
                    && p.error.as_ref().map(|e| e.code.as_str())
                        == Some(ErrorCode::MessageTooLarge.as_str())
            });
            if closing {
                // The daemon refused a frame above its `max_frame` and is
                // closing this connection: pass its answer on and end the
                // port, as a host reading the frame itself would.
                crate::log!(
                    Warn,
                    "the daemon refused an oversized frame from the browser"
                );
                let _ = self.write_stdout(&frame);
                std::process::exit(0);
            }
            let id = peeked.and_then(|p| p.id).filter(|v| !v.is_null());
            if let Some(id) = &id {
                if id.as_str() == Some(REPLAY_ID) {
                    continue;
                }
                lock(&self.pending).remove(&id_key(id));
            }
            let out = if frame.len() > MAX_OUTBOUND {
                crate::log!(
                    Warn,
                    "daemon frame of {} bytes above the browser limit",
                    frame.len()
                );
                reply_err(
                    id.as_ref().unwrap_or(&Value::Null),
                    &RpcError::new(
                        ErrorCode::MessageTooLarge,
                        format!(
                            "the reply is {} bytes; browsers accept at most {MAX_OUTBOUND}",
                            frame.len()
                        ),
                    ),
                )
            } else {
                frame
            };
            if self.write_stdout(&out).is_err() {
                // The browser is gone; stdin will see EOF too.
                std::process::exit(0);
            }
        }
    }
}

/// Runs the relay until the browser closes stdin.
pub fn run(paths: Paths, origin: String) -> io::Result<()> {
    crate::log!(
        Debug,
        "host started for {origin} (pid {})",
        std::process::id()
    );
    let relay = Arc::new(Relay {
        paths,
        origin,
        link: Mutex::new(Link {
            stream: None,
            gen: 0,
        }),
        link_changed: Condvar::new(),
        pending: Mutex::new(HashMap::new()),
        hello: Mutex::new(None),
        stdout: Mutex::new(io::stdout()),
    });
    {
        let relay = Arc::clone(&relay);
        std::thread::spawn(move || relay.pump_from_daemon());
    }
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    loop {
        match read_frame(&mut stdin, HOST_MAX_INBOUND) {
            Ok(Some(frame)) => relay.forward(&frame),
            Ok(None) => {
                crate::log!(Debug, "browser closed the port");
                break;
            }
            Err(FrameError::TooLarge { len, cap }) => {
                crate::log!(
                    Warn,
                    "oversized frame from the browser: {len} bytes, limit {cap}"
                );
                relay.answer_error(
                    &Value::Null,
                    &RpcError::new(
                        ErrorCode::MessageTooLarge,
                        format!("message of {len} bytes exceeds the limit of {cap} bytes"),
                    ),
                );
                break;
            }
            Err(e) => {
                crate::log!(Warn, "reading from the browser failed: {e}");
                break;
            }
        }
    }
    let _ = lock(&relay.stdout).flush();
    Ok(())
}
