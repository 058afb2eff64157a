<#
.SYNOPSIS
  Installs logto-companion on Windows: builds it (or takes a prebuilt exe),
  copies it to a per-user folder and runs `logto-companion install`, which
  registers the app and writes the browsers' HKCU NativeMessagingHosts keys.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installers\install.ps1 --endpoint https://tenant.logto.app --app-id <id> --extension-id <id>

.EXAMPLE
  installers\install.ps1 -Binary .\logto-companion.exe --endpoint https://tenant.logto.app --app-id <id> --firefox-id ext@example.org
#>
# A plain script (no CmdletBinding), so arguments like --endpoint that are
# not ours pass through untouched in $args.
param(
  # Folder for logto-companion.exe (default: %LOCALAPPDATA%\Programs\logto-companion).
  [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'Programs\logto-companion'),
  # A prebuilt logto-companion.exe: no cargo needed.
  [string]$Binary,
  # Do not add the folder to the user's PATH.
  [switch]$NoPath
)
# Everything else goes to `logto-companion install` (--endpoint … --app-id … --extension-id …).
$InstallArgs = @($args)
$ErrorActionPreference = 'Stop'
$repo = Split-Path -Parent $PSScriptRoot

if (-not $Binary) {
  $cargo = Get-Command cargo -ErrorAction SilentlyContinue
  if (-not $cargo) {
    [Console]::Error.WriteLine("install.ps1: cargo was not found, so logto-companion cannot be built.")
    [Console]::Error.WriteLine("  Install Rust from https://rustup.rs (then open a new terminal), or pass a prebuilt exe: -Binary path\to\logto-companion.exe")
    exit 1
  }
  Write-Host '==> building the release binary (cargo build --release)'
  Push-Location $repo
  try {
    & cargo build --release --bin logto-companion
    if ($LASTEXITCODE -ne 0) { [Console]::Error.WriteLine('install.ps1: cargo build failed (see above)'); exit 1 }
  } finally { Pop-Location }
  $target = if ($env:CARGO_TARGET_DIR) { $env:CARGO_TARGET_DIR } else { Join-Path $repo 'target' }
  $Binary = Join-Path $target 'release\logto-companion.exe'
}
if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) {
  [Console]::Error.WriteLine("install.ps1: $Binary does not exist")
  exit 1
}

New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
$dest = Join-Path $Prefix 'logto-companion.exe'
# A running host keeps the exe open: move it aside first, then copy.
if (Test-Path -LiteralPath $dest) {
  $old = "$dest.old"
  Remove-Item -LiteralPath $old -Force -ErrorAction SilentlyContinue
  Move-Item -LiteralPath $dest -Destination $old -Force
}
Copy-Item -LiteralPath $Binary -Destination $dest -Force
Write-Host "==> installed $dest"

if (-not $NoPath) {
  $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
  $parts = @($userPath -split ';' | Where-Object { $_ })
  if ($parts -notcontains $Prefix) {
    [Environment]::SetEnvironmentVariable('Path', (($parts + $Prefix) -join ';'), 'User')
    Write-Host "==> added $Prefix to your user PATH (open a new terminal to use it)"
  }
}

if ($InstallArgs.Count -eq 0) {
  Write-Host "next: register your app and the browsers (HKCU registry keys):"
  Write-Host "  & '$dest' install --endpoint https://<tenant>.logto.app --app-id <app id> --extension-id <extension id>"
  exit 0
}
Write-Host "==> $dest install $($InstallArgs -join ' ')"
& $dest install @InstallArgs
exit $LASTEXITCODE
