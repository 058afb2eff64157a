//! logto-companion as a library: the native-messaging host relay, the
//! per-user daemon (sessions, OIDC, keychain store), the CLI and the
//! installer. `src/main.rs` is only the binary edge (argv → role); the
//! tests, benches and the fuzz target use these modules directly.

pub mod cli;
pub mod codec;
pub mod config;
pub mod daemon;
pub mod fsx;
pub mod host;
pub mod install;
pub mod ipc;
pub mod logging;
pub mod oidc;
pub mod paths;
pub mod protocol;
pub mod secret;
pub mod store;
pub mod util;
