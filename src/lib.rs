//! logto-companion's daemon crate: the per-user daemon (sessions, OIDC,
//! keychain store), the installer and the CLI commands that need them,
//! built as `logto-companion-daemon`. `src/main.rs` is only the binary
//! edge; the tests, benches and the fuzz target use these modules directly.
//!
//! The wire contract is its own crate (`logto-companion-protocol`,
//! re-exported as [`protocol`]) and the client side — the thin
//! `logto-companion` binary, the host relay, file locations, connecting to
//! the daemon — is `logto-companion-client` (re-exported as [`paths`] and
//! through [`ipc`]). See docs/architecture.md.

pub mod cli;
pub mod codec;
pub mod config;
pub mod daemon;
pub mod fsx;
pub mod install;
pub mod ipc;
pub mod logging;
pub mod oidc;
pub mod secret;
pub mod store;
pub mod util;

pub use logto_companion_client::paths;
pub use logto_companion_protocol as protocol;
