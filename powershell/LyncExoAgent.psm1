# LyncExoAgent: the prelude each agent session imports once. It turns a base64 payload (data, never script text)
# into one cmdlet call and answers with exactly one JSON line on stdout.
#
# Runs on Windows PowerShell 5.1 (production) and on the bare PowerShell 7 engine used by the tests, so it uses only
# the language, the engine's core cmdlets and .NET: no Utility/Management cmdlets, no ternary, no ?? / ?. / && / ||.
#
# Payload format (UTF-8 text, LF-separated, then base64 as a whole so it fits in a single-quoted literal):
#   step: lx1 / cmdlet <Verb-Noun> / then one line per parameter:
#         s <Name> <base64 of the UTF-8 string>  |  b <Name> 1|0  |  i <Name> <decimal integer>  |  n <Name>
#   init: lx1 / module <base64 of name or .psd1 path> / allow <Verb-Noun> (one line per allowed cmdlet)
# Both functions write {"ok":true,"output":[...]} or {"ok":false,"error":{...}} (ASCII only: non-ASCII characters
# as \uXXXX escapes, so both directions of the wire are ASCII) and never write to stderr:
# node-powershell counts any stderr byte as a failed call, and we want the structured error instead.

. ([System.IO.Path]::Combine($PSScriptRoot, 'LxJson.ps1'))

$script:LxAllowed = $null     # hashtable (case-insensitive) of cmdlet names this session may run
$script:LxModuleInfo = $null  # the PSModuleInfo of the Lync / SkypeForBusiness (or simulator) module

$script:LxNamePattern = '^[A-Za-z]+-[A-Za-z]+$'
$script:LxParamPattern = '^[A-Za-z][A-Za-z0-9]*$'
# Stream and variable common parameters stay ours: a step must not silence errors or write session variables.
$script:LxReservedParams = @('ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction', 'ErrorVariable',
  'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'Debug', 'Verbose')

function Format-LxJsonString {
  # JSON string literal for error text: kept here (not in LxJson.ps1) so failures still report if serialization breaks.
  param([AllowNull()][object]$Value)
  if ($null -eq $Value) { return 'null' }
  $s = [string]$Value
  $sb = [System.Text.StringBuilder]::new($s.Length + 2)
  [void]$sb.Append('"')
  foreach ($c in $s.ToCharArray()) {
    $code = [int]$c
    if ($c -ceq '"') { [void]$sb.Append('\"') }
    elseif ($c -ceq '\') { [void]$sb.Append('\\') }
    elseif ($code -lt 0x20 -or ($code -ge 0x7F -and $code -le 0x9F) -or $code -eq 0x2028 -or $code -eq 0x2029 -or ($code -ge 0xD800 -and $code -le 0xDFFF)) {
      [void]$sb.Append('\u').Append($code.ToString('x4'))
    }
    else { [void]$sb.Append($c) }
  }
  [void]$sb.Append('"')
  return $sb.ToString()
}

function Write-LxLine {
  # Writes the envelope as pure ASCII: every non-ASCII character can only sit inside a JSON string, so it may be
  # written as a \uXXXX escape. The wire then does not depend on the console code page (Windows PowerShell 5.1
  # writes redirected stdout in the OEM code page, which would mangle Arabic, emoji, typographic quotes...).
  param([string]$Line)
  if ($Line -match '[^\x00-\x7E]') {
    $sb = [System.Text.StringBuilder]::new($Line.Length + 64)
    foreach ($c in $Line.ToCharArray()) {
      $code = [int]$c
      if ($code -gt 0x7E) { [void]$sb.Append('\u').Append($code.ToString('x4')) } else { [void]$sb.Append($c) }
    }
    $Line = $sb.ToString()
  }
  [Console]::Out.WriteLine($Line)
}

function New-LxErrorRecord {
  param([string]$Message, [string]$ErrorId, [System.Management.Automation.ErrorCategory]$Category, [object]$Target, [System.Exception]$Exception)
  if ($null -eq $Exception) { $Exception = [System.InvalidOperationException]::new($Message) }
  return [System.Management.Automation.ErrorRecord]::new($Exception, $ErrorId, $Category, $Target)
}

function Format-LxFailure {
  # The error envelope from an ErrorRecord: category by name, FullyQualifiedErrorId, exception type, target.
  param([object]$Record)
  $rec = $Record
  if ($rec -isnot [System.Management.Automation.ErrorRecord]) {
    $ex = $rec -as [System.Exception]
    if ($null -eq $ex) { $ex = [System.Exception]::new([string]$rec) }
    $rec = New-LxErrorRecord -Message $ex.Message -ErrorId 'LxUnexpected' -Category NotSpecified -Exception $ex
  }
  # -ErrorAction Stop wraps a non-terminating error; report the cmdlet's own record.
  if ($rec.Exception -is [System.Management.Automation.ActionPreferenceStopException] -and $null -ne $rec.Exception.ErrorRecord) {
    $rec = $rec.Exception.ErrorRecord
  }
  $message = $rec.ToString()
  if ([string]::IsNullOrEmpty($message) -and $null -ne $rec.Exception) { $message = $rec.Exception.Message }
  $exType = $null
  if ($null -ne $rec.Exception) { $exType = $rec.Exception.GetType().FullName }
  $target = $null
  if ($null -ne $rec.TargetObject) { $target = [string]$rec.TargetObject }
  return '{"ok":false,"error":{"message":' + (Format-LxJsonString $message) +
    ',"category":' + (Format-LxJsonString ([string]$rec.CategoryInfo.Category)) +
    ',"errorId":' + (Format-LxJsonString $rec.FullyQualifiedErrorId) +
    ',"exceptionType":' + (Format-LxJsonString $exType) +
    ',"target":' + (Format-LxJsonString $target) + '}}'
}

function ConvertFrom-LxBase64 {
  param([string]$Text)
  return [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($Text))
}

function Read-LxPayloadLines {
  param([string]$Payload)
  try { $text = ConvertFrom-LxBase64 $Payload }
  catch { throw (New-LxErrorRecord -Message 'payload: not base64' -ErrorId 'LxBadPayload' -Category InvalidData) }
  $lines = $text.Split([char]10)
  if ($lines.Length -lt 2 -or $lines[0] -cne 'lx1') {
    throw (New-LxErrorRecord -Message 'payload: unknown format (expected lx1)' -ErrorId 'LxBadPayload' -Category InvalidData)
  }
  return , $lines
}

function Read-LxStep {
  # Decodes a step payload into a cmdlet name and an ordered parameter dictionary with typed values.
  param([string]$Payload)
  $lines = Read-LxPayloadLines $Payload
  $head = $lines[1].Split([char]32)
  if ($head.Length -ne 2 -or $head[0] -cne 'cmdlet' -or $head[1] -cnotmatch $script:LxNamePattern) {
    throw (New-LxErrorRecord -Message 'payload: bad cmdlet line' -ErrorId 'LxBadPayload' -Category InvalidData)
  }
  $params = [ordered]@{}
  for ($i = 2; $i -lt $lines.Length; $i++) {
    $f = $lines[$i].Split([char]32)
    if ($f.Length -lt 2 -or $f[1] -cnotmatch $script:LxParamPattern -or $params.Contains($f[1]) -or $script:LxReservedParams -contains $f[1]) {
      throw (New-LxErrorRecord -Message "payload: bad parameter line $i" -ErrorId 'LxBadPayload' -Category InvalidData)
    }
    $kind = $f[0]
    if ($kind -ceq 's' -and $f.Length -eq 3) { $value = ConvertFrom-LxBase64 $f[2] }
    elseif ($kind -ceq 'b' -and $f.Length -eq 3 -and ($f[2] -ceq '1' -or $f[2] -ceq '0')) { $value = ($f[2] -ceq '1') }
    elseif ($kind -ceq 'i' -and $f.Length -eq 3 -and $f[2] -cmatch '^-?[0-9]{1,19}$') {
      $value = [long]::Parse($f[2], [System.Globalization.NumberStyles]::AllowLeadingSign, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    elseif ($kind -ceq 'n' -and $f.Length -eq 2) { $value = $null }
    else { throw (New-LxErrorRecord -Message "payload: bad parameter line $i" -ErrorId 'LxBadPayload' -Category InvalidData) }
    $params[$f[1]] = $value
  }
  return @{ Cmdlet = $head[1]; Parameters = $params }
}

function Initialize-LxAgent {
  # Imports the Lync module named in the payload (name or .psd1 path; nothing else is tried) and records the
  # allowlist. Answers with the module's name, version and path.
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string]$Payload)
  $ErrorActionPreference = 'Stop'
  try {
    $lines = Read-LxPayloadLines $Payload
    $module = $null
    $allowed = @{}
    for ($i = 1; $i -lt $lines.Length; $i++) {
      $f = $lines[$i].Split([char]32)
      if ($f.Length -eq 2 -and $f[0] -ceq 'module') { $module = ConvertFrom-LxBase64 $f[1] }
      elseif ($f.Length -eq 2 -and $f[0] -ceq 'allow' -and $f[1] -cmatch $script:LxNamePattern) { $allowed[$f[1]] = $true }
      else { throw (New-LxErrorRecord -Message "payload: bad init line $i" -ErrorId 'LxBadPayload' -Category InvalidData) }
    }
    if ([string]::IsNullOrEmpty($module)) {
      throw (New-LxErrorRecord -Message 'payload: no module' -ErrorId 'LxBadPayload' -Category InvalidData)
    }
    # -Global: the cmdlets must be visible outside this module; -DisableNameChecking: no verb warnings on stdout.
    $info = @(Import-Module -Name $module -Global -PassThru -DisableNameChecking -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 6>$null)
    if ($info.Length -eq 0) {
      throw (New-LxErrorRecord -Message "importing module ${module}: nothing was imported" -ErrorId 'LxModuleEmpty' -Category ObjectNotFound -Target $module)
    }
    $script:LxModuleInfo = $info[0]
    $script:LxAllowed = $allowed
    $m = $script:LxModuleInfo
    $line = '{"ok":true,"output":[{"Name":' + (Format-LxJsonString $m.Name) + ',"Version":' + (Format-LxJsonString ([string]$m.Version)) +
      ',"Path":' + (Format-LxJsonString $m.Path) + '}]}'
  }
  catch {
    $line = Format-LxFailure $_
  }
  Write-LxLine $line
}

function Invoke-LxStep {
  # Runs one allowlisted cmdlet of the imported module with splatted parameters and writes one JSON line.
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string]$Payload)
  $ErrorActionPreference = 'Stop'
  $WarningPreference = 'SilentlyContinue'
  $InformationPreference = 'SilentlyContinue'
  $VerbosePreference = 'SilentlyContinue'
  $ProgressPreference = 'SilentlyContinue'
  try {
    if ($null -eq $script:LxAllowed -or $null -eq $script:LxModuleInfo) {
      throw (New-LxErrorRecord -Message 'agent session not initialized (Initialize-LxAgent)' -ErrorId 'LxNotInitialized' -Category InvalidOperation)
    }
    $step = Read-LxStep $Payload
    $name = $step.Cmdlet
    if (-not $script:LxAllowed.ContainsKey($name)) {
      $ex = [System.UnauthorizedAccessException]::new("${name}: not on this agent's allowlist")
      throw (New-LxErrorRecord -Message $ex.Message -ErrorId 'LxCmdletNotAllowed' -Category PermissionDenied -Target $name -Exception $ex)
    }
    # Only commands of the configured module: no aliases, applications or scripts found on PATH.
    $cmd = $null
    if ($script:LxModuleInfo.ExportedCommands.ContainsKey($name)) { $cmd = $script:LxModuleInfo.ExportedCommands[$name] }
    if ($null -eq $cmd) {
      $ex = [System.Management.Automation.CommandNotFoundException]::new("The term '$name' is not recognized as a name of a cmdlet, function, script file, or executable program (module $($script:LxModuleInfo.Name)).")
      throw (New-LxErrorRecord -Message $ex.Message -ErrorId 'CommandNotFoundException' -Category ObjectNotFound -Target $name -Exception $ex)
    }
    $params = $step.Parameters
    # Preference variables do not cross into script modules; the common parameter does.
    if ($cmd.Parameters.ContainsKey('ErrorAction')) { $params['ErrorAction'] = 'Stop' }
    $results = @(& $cmd @params 3>$null 4>$null 5>$null 6>$null)
    try {
      $items = [System.Collections.Generic.List[string]]::new()
      foreach ($r in $results) {
        if ($null -ne $r) { $items.Add((ConvertTo-LxJson -InputObject $r -Depth 5)) }
      }
    }
    catch {
      $ex = [System.InvalidOperationException]::new("serializing output of ${name}: $($_.Exception.Message)", $_.Exception)
      throw (New-LxErrorRecord -Message $ex.Message -ErrorId 'LxOutputNotSerializable' -Category InvalidResult -Target $name -Exception $ex)
    }
    $line = '{"ok":true,"output":[' + ($items -join ',') + ']}'
  }
  catch {
    $line = Format-LxFailure $_
  }
  Write-LxLine $line
}

Export-ModuleMember -Function Initialize-LxAgent, Invoke-LxStep
