//! Logs go to a file in the state dir, never to stdout (in host mode stdout
//! carries protocol frames only). Nothing secret is ever logged: tokens are
//! wrapped in types whose `Debug` prints `***`, and frames are not logged.

use crate::paths::Paths;
use std::fs::OpenOptions;
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// `LOGTO_COMPANION_LOG` takes an `EnvFilter` directive (default `info`).
const LOG_ENV: &str = "LOGTO_COMPANION_LOG";

/// Starts logging to `<state>/logs/<name>.log`, and to stderr too when
/// `also_stderr` (a foreground daemon). Failing to open the file is not
/// fatal: the program runs without logs rather than not at all.
pub fn init(paths: &Paths, name: &str, also_stderr: bool) {
    let mut filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    // HTTP and D-Bus internals log request and message details at debug and
    // trace (headers, bodies): never below info, whatever the variable says,
    // so turning on debug logging cannot put a token in a log file.
    for quiet in [
        "hyper",
        "hyper_util",
        "h2",
        "reqwest",
        "rustls",
        "zbus",
        "axum",
        "tower",
    ] {
        if let Ok(d) = format!("{quiet}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    let dir = paths.log_dir();
    let file = std::fs::create_dir_all(&dir).ok().and_then(|_| {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}.log")))
            .ok()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false);
    let _ = match (file, also_stderr) {
        (Some(f), true) => builder.with_writer(Tee(Mutex::new(f))).try_init(),
        (Some(f), false) => builder.with_writer(Mutex::new(f)).try_init(),
        (None, true) => builder.with_writer(std::io::stderr).try_init(),
        (None, false) => return,
    };
}

/// Writes each log line to the file and to stderr.
struct Tee(Mutex<std::fs::File>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Tee {
    type Writer = TeeWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        TeeWriter(&self.0)
    }
}

struct TeeWriter<'a>(&'a Mutex<std::fs::File>);

impl std::io::Write for TeeWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
