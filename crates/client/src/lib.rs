//! The client side of logto-companion, and the thin `logto-companion`
//! binary built from it: what a browser starts on every `connectNative` and
//! what scripts run on every `token`.
//!
//! Small by construction: no async runtime, no TLS, no OIDC, no keychain,
//! no clap, no `tracing` — only the wire contract
//! (`logto-companion-protocol`), the file locations, the local channel to
//! the daemon (connect, start it) and the relay. It holds no refresh token
//! ever, and an access token only while `token` prints it. The daemon binary
//! (`logto-companion-daemon`, the root crate) uses this crate for its own
//! CLI commands, so there is one client.
//!
//! - [`argv`]: which role the argv asks for (host, `token`, `status`,
//!   `ping`, or hand off to the daemon binary: [`handoff`]);
//! - [`host`]: the native-messaging relay;
//! - [`commands`]: `token`, `status`, `ping` and the CLI's error type;
//! - [`client`]: the typed blocking client; [`ipc`]: connect, start the
//!   daemon; [`paths`]: every file and socket location; [`log`]: the host's
//!   few log lines.

pub mod argv;
pub mod client;
pub mod commands;
pub mod handoff;
pub mod host;
pub mod ipc;
pub mod log;
pub mod paths;

pub use commands::CliError;
