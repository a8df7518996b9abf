#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Installs lync-exo (the Slack bot, or a remote agent) as a Windows service with WinSW 2.x.

.DESCRIPTION
  Copies WinSW.exe beside its definition (written by `lync-exo service`), installs the service to run as the named
  account (restart on failure, rolling log files, Ctrl+C on stop so a running step finishes), asks for each secret
  and stores it in the service's own environment (HKLM\SYSTEM\CurrentControlSet\Services\<id>\Environment, readable
  by SYSTEM and Administrators only), and starts it. The account's password is used for the install and never
  written to disk; a group managed service account (DOMAIN\name$) needs none.

.EXAMPLE
  .\Install-LyncExoService.ps1 -Kind bot -Account 'CONTOSO\svc-lyncexo' -WinSW C:\Downloads\WinSW-x64.exe -Config C:\lync-exo\lync-exo.yml -DataDir C:\lync-exo\data

.EXAMPLE
  .\Install-LyncExoService.ps1 -Kind agent -Account 'CONTOSO\gmsa-lyncexo$' -WinSW C:\Downloads\WinSW-x64.exe
#>
param(
  [ValidateSet('bot', 'agent')]
  [string]$Kind = 'bot',
  [Parameter(Mandatory = $true)]
  [string]$Account,
  [Parameter(Mandatory = $true)]
  [string]$WinSW,
  [string]$PackageDir = '',
  [string]$Node = '',
  [string]$Id = '',
  [string]$Config = '',
  [string]$DataDir = '',
  [string[]]$Secrets = @()
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

function Write-Utf8NoBom {
  param([string]$Path, [string]$Text)
  [System.IO.File]::WriteAllText($Path, $Text, (New-Object System.Text.UTF8Encoding($false)))
}

function Read-Secret {
  param([string]$Name)
  $secure = Read-Host -AsSecureString -Prompt ($Name + ' (empty: not set)')
  $bstr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($secure)
  try { return [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($bstr) }
  finally { [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($bstr) }
}

if ($PackageDir -eq '') { $PackageDir = Split-Path -Parent $PSScriptRoot }
if ($Node -eq '') { $Node = (Get-Command -Name 'node.exe' -CommandType Application | Select-Object -First 1).Source }
if ($Id -eq '') { if ($Kind -eq 'bot') { $Id = 'lync-exo' } else { $Id = 'lync-exo-agent' } }
if ($Secrets.Count -eq 0) {
  if ($Kind -eq 'bot') { $Secrets = @('SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'LYNC_EXO_AGENT_TOKENS') }
  else { $Secrets = @('LYNC_EXO_AGENT_TOKEN') }
}
if (-not (Test-Path -LiteralPath $WinSW -PathType Leaf)) { throw "WinSW: no file at $WinSW (WinSW 2.x, for example WinSW-x64.exe)" }
if (-not (Test-Path -LiteralPath (Join-Path $PackageDir 'dist\main.js') -PathType Leaf)) { throw "PackageDir: $PackageDir has no dist\main.js (point it at node_modules\lync-exo)" }

$hostDir = Join-Path $PackageDir 'service-host'
New-Item -ItemType Directory -Force -Path $hostDir | Out-Null
$exe = Join-Path $hostDir ($Id + '.exe')
$xmlPath = Join-Path $hostDir ($Id + '.xml')
Copy-Item -LiteralPath $WinSW -Destination $exe -Force

# the definition comes from lync-exo itself, so it is the one the tests check
$arguments = @((Join-Path $PackageDir 'dist\main.js'), 'service', '--kind', $Kind, '--account', $Account, '--dir', $PackageDir, '--node', $Node, '--id', $Id)
if ($Config -ne '') { $arguments += @('--config', $Config) }
if ($DataDir -ne '') { $arguments += @('--data', $DataDir) }
$definition = (& $Node @arguments) -join "`r`n"
if ($LASTEXITCODE -ne 0) { throw "lync-exo service: exit code $LASTEXITCODE" }

$managed = $Account.EndsWith('$')
$installText = $definition
if (-not $managed) {
  $credential = Get-Credential -UserName $Account -Message ('The password of ' + $Account + ', which the service runs as')
  $password = [System.Security.SecurityElement]::Escape($credential.GetNetworkCredential().Password)
  $installText = $definition.Replace('    <allowservicelogon>', ('    <password>' + $password + "</password>`r`n    <allowservicelogon>"))
}
try {
  Write-Utf8NoBom -Path $xmlPath -Text $installText
  & $exe install
  if ($LASTEXITCODE -ne 0) { throw "WinSW install: exit code $LASTEXITCODE" }
}
finally {
  # the password was needed for the install only: the service control manager keeps it
  Write-Utf8NoBom -Path $xmlPath -Text $definition
  $installText = $null
  $password = $null
}

# secrets: in the service's environment, never in the definition or a log
$values = @()
foreach ($name in $Secrets) {
  $value = Read-Secret -Name $name
  if ($value -ne '') { $values += ($name + '=' + $value) }
}
$key = 'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Id
New-ItemProperty -Path $key -Name 'Environment' -PropertyType MultiString -Value $values -Force | Out-Null
$values = $null
$acl = Get-Acl -Path $key
$acl.SetAccessRuleProtection($true, $false)
foreach ($rule in @($acl.Access)) { [void]$acl.RemoveAccessRule($rule) }
foreach ($who in @('NT AUTHORITY\SYSTEM', 'BUILTIN\Administrators')) {
  $acl.AddAccessRule((New-Object System.Security.AccessControl.RegistryAccessRule($who, 'FullControl', 'ContainerInherit', 'None', 'Allow')))
}
Set-Acl -Path $key -AclObject $acl

# the account writes its logs and (the bot) its database
foreach ($dir in @((Join-Path $PackageDir 'logs'), $DataDir)) {
  if ($dir -eq '') { continue }
  New-Item -ItemType Directory -Force -Path $dir | Out-Null
  $dacl = Get-Acl -Path $dir
  $dacl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($Account, 'Modify', 'ContainerInherit, ObjectInherit', 'None', 'Allow')))
  Set-Acl -Path $dir -AclObject $dacl
}

Start-Service -Name $Id
Get-Service -Name $Id | Select-Object -Property Name, Status, StartType | Format-List
Write-Host ("logs: " + (Join-Path $PackageDir 'logs') + "; health: /healthz, /readyz and /metrics (see the README)")
