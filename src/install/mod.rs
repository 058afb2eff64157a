//! `install`, `uninstall` and `doctor` (being built).

use crate::paths::Paths;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct InstallArgs {}

#[derive(clap::Args, Debug)]
pub struct UninstallArgs {}

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {}

pub fn install(_paths: &Paths, _args: InstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}

pub fn uninstall(_paths: &Paths, _args: UninstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}

pub fn doctor(_paths: &Paths, _args: DoctorArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
