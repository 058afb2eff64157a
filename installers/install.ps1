<#
.SYNOPSIS
  Installs logto-companion on Windows from the release zip: copies the
  exe(s) beside this script to %LOCALAPPDATA%\Programs\logto-companion\ and
  runs `logto-companion install` with your arguments. Everything else (the
  config, the manifests, the HKCU/HKLM registry keys, the install record)
  is done by `install` itself, in tested Rust; this script holds no logic.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File .\install.ps1 --endpoint https://tenant.logto.app --app-id <id> --extension-id <id>
#>
# A plain script (no param block, no CmdletBinding): every argument goes
# untouched to `logto-companion install`.
$ErrorActionPreference = 'Stop'
$Prefix = Join-Path $env:LOCALAPPDATA 'Programs\logto-companion'
if (-not (Test-Path -LiteralPath (Join-Path $PSScriptRoot 'logto-companion.exe'))) {
  [Console]::Error.WriteLine("install.ps1: no logto-companion.exe beside this script; run the install.ps1 of the unzipped release zip (logto-companion-<version>-x86_64-pc-windows-gnu.zip)")
  exit 1
}

New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
# Every exe the zip ships (scripts/package-windows lists them, once).
foreach ($src in Get-ChildItem -LiteralPath $PSScriptRoot -Filter '*.exe' -File) {
  $dest = Join-Path $Prefix $src.Name
  # A running host or daemon keeps its exe open: move it aside, then copy.
  if (Test-Path -LiteralPath $dest) {
    Remove-Item -LiteralPath "$dest.old" -Force -ErrorAction SilentlyContinue
    Move-Item -LiteralPath $dest -Destination "$dest.old" -Force
  }
  Copy-Item -LiteralPath $src.FullName -Destination $dest -Force
  Write-Host "==> copied $dest"
}

# --copied-programs: the install record names the copied exes, so
# `logto-companion uninstall` deletes them with the rest.
& (Join-Path $Prefix 'logto-companion.exe') install --copied-programs @args
exit $LASTEXITCODE
