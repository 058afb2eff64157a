//! The integration suites, one binary (as rustup does): the shared helpers
//! in `common/` compile once, and every suite drives the real
//! `logto-companion` binary exactly as a browser or a person would.

mod common;

mod abuse;
mod cli;
mod device;
mod faults;
mod host_daemon;
mod install;
mod keychain;
mod providers;
mod signin;
