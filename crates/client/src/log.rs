//! A few lines of logging for the thin binary: appended to
//! `<state>/logs/<name>.log`, never to stdout (in host mode stdout carries
//! protocol frames only), and never a frame or a token — only what went
//! wrong with the relay.
//!
//! Not `tracing`: setting up a subscriber is work the browser would pay on
//! every `connectNative`. The file is opened on the first line written, so
//! a quiet host touches no file at all. `LOGTO_COMPANION_LOG` takes the
//! same words as the daemon's filter (`debug`, `logto_companion=trace`, …);
//! the most verbose level named wins, `info` when unset.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Error = 1,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

struct Sink {
    path: PathBuf,
    max: Option<Level>,
    file: Mutex<Option<File>>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The most verbose level a `LOGTO_COMPANION_LOG` value names (`None` = off).
pub fn level_from(filter: Option<&str>) -> Option<Level> {
    let Some(filter) = filter else {
        return Some(Level::Info);
    };
    let mut best: Option<Option<Level>> = None;
    for directive in filter.split(',') {
        let word = directive.rsplit('=').next().unwrap_or("").trim();
        let level = match word.to_ascii_lowercase().as_str() {
            "off" => None,
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            "trace" => Some(Level::Trace),
            _ => continue,
        };
        best = Some(match best {
            Some(b) if b >= level => b,
            _ => level,
        });
    }
    best.unwrap_or(Some(Level::Info))
}

/// Sends later lines to `<log_dir>/<name>.log`.
pub fn init(log_dir: PathBuf, name: &str) {
    let max = level_from(std::env::var("LOGTO_COMPANION_LOG").ok().as_deref());
    let _ = SINK.set(Sink {
        path: log_dir.join(format!("{name}.log")),
        max,
        file: Mutex::new(None),
    });
}

pub fn enabled(level: Level) -> bool {
    SINK.get()
        .and_then(|s| s.max)
        .is_some_and(|max| level <= max)
}

/// Writes one line (use the `log!` macro). Failing to log is not an error:
/// the relay runs without logs rather than not at all.
pub fn write(level: Level, args: std::fmt::Arguments<'_>) {
    let Some(sink) = SINK.get() else { return };
    if !enabled(level) {
        return;
    }
    let line = format!(
        "{} {} logto_companion::host: {args}\n",
        utc_now(),
        level.label()
    );
    let mut file = sink.file.lock().unwrap_or_else(|p| p.into_inner());
    if file.is_none() {
        if let Some(dir) = sink.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        *file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&sink.path)
            .ok();
    }
    if let Some(f) = file.as_mut() {
        let _ = f.write_all(line.as_bytes());
    }
}

/// `log!(Warn, "…", args)`: formats only when the level is on.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        if $crate::log::enabled($crate::log::Level::$level) {
            $crate::log::write($crate::log::Level::$level, format_args!($($arg)*));
        }
    };
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the daemon log's format, without a date
/// crate (days → civil date after Howard Hinnant's algorithm).
fn utc_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_verbose_level_named_wins() {
        assert_eq!(level_from(None), Some(Level::Info));
        assert_eq!(level_from(Some("debug")), Some(Level::Debug));
        assert_eq!(
            level_from(Some("warn,logto_companion=trace")),
            Some(Level::Trace)
        );
        assert_eq!(level_from(Some("off")), None);
        assert_eq!(level_from(Some("nonsense")), Some(Level::Info));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = utc_now();
        assert_eq!(t.len(), 27, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(t.starts_with("20"), "{t}");
    }
}
