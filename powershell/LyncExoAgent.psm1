# LyncExoAgent: the prelude each agent session imports once. It turns a base64 payload (data, never script text)
# into one cmdlet call and answers with exactly one JSON line on stdout.
#
# Runs on Windows PowerShell 5.1 (production) and PowerShell 7 (the tests), so it uses only what both have: no
# ternary, no ?? / ?. / && / ||, no ConvertTo-Json (5.1 writes enums as numbers and dates as \/Date()\/).
#
# Payload format (UTF-8 text, LF-separated, then base64 as a whole so it fits in a single-quoted literal):
#   key:  lx1 / key <hex>                     the session key that binds answers (sent before any module code runs)
#   init: lx1 / id <hex> / module <base64 of name or .psd1 path> / allow <Verb-Noun> (one per allowed cmdlet)
#         / project <Verb-Noun> <Prop,Prop,...> (the properties a read cmdlet's objects are reduced to)
#   step: lx1 / id <hex> / cmdlet <Verb-Noun> / then one line per parameter:
#         s <Name> <base64 of the UTF-8 string>  |  b <Name> 1|0  |  i <Name> <decimal integer>  |  n <Name>
# Init and step each answer with one line: lx1r <id> <HMAC-SHA256(key, id + ' ' + json), hex> <json>, where json is
# {"ok":true,"output":[...],"warnings":[...]} or {"ok":false,"error":{...}}. The id and the MAC bind the answer to
# its invocation: a module that prints a line of the same shape (the Lync cmdlets write to the console) cannot
# make one the bot accepts, since the key is never in anything a cmdlet is given. The line is ASCII only
# (non-ASCII characters as \uXXXX escapes), so no console code page can mangle it, and nothing is written to
# stderr: node-powershell counts any stderr byte as a failed call, and we want the structured error instead.

. ([System.IO.Path]::Combine($PSScriptRoot, 'LxJson.ps1'))

$script:LxAllowed = $null     # hashtable (case-insensitive) of cmdlet names this session may run
$script:LxModuleInfo = $null  # the PSModuleInfo of the Lync / SkypeForBusiness (or simulator) module
$script:LxProjections = @{}   # cmdlet name -> string[] of the properties its objects are reduced to
$script:LxKey = $null         # byte[]: the session key of the answers' MAC
$script:LxInvariant = [System.Globalization.CultureInfo]::InvariantCulture

# A console that renders nothing of its own: no progress bars, no colour escapes (PowerShell 7.2+ has $PSStyle).
$global:ProgressPreference = 'SilentlyContinue'
if ($null -ne (Get-Variable -Name PSStyle -Scope Global -ErrorAction SilentlyContinue)) {
  try { $global:PSStyle.OutputRendering = 'PlainText' } catch { $null = $_ }
}

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

function Write-LxAnswer {
  # Writes the envelope as pure ASCII: every non-ASCII character can only sit inside a JSON string, so it may be
  # written as a \uXXXX escape. The wire then does not depend on the console code page (Windows PowerShell 5.1
  # writes redirected stdout in the OEM code page, which would mangle Arabic, emoji, typographic quotes...).
  # Then it binds the line to its invocation: lx1r <id> <mac> <json>.
  param([string]$Id, [string]$Line)
  if ($Line -match '[^\x00-\x7E]') {
    $sb = [System.Text.StringBuilder]::new($Line.Length + 64)
    foreach ($c in $Line.ToCharArray()) {
      $code = [int]$c
      if ($code -gt 0x7E) { [void]$sb.Append('\u').Append($code.ToString('x4')) } else { [void]$sb.Append($c) }
    }
    $Line = $sb.ToString()
  }
  if ($null -eq $script:LxKey -or $Id -cnotmatch '^[0-9a-f]{32}$') {
    # Without a key or an id nothing can be bound: the bot refuses an unbound answer, so say why in the id's place.
    [Console]::Out.WriteLine('lx1r unbound ' + $Line)
    return
  }
  $hmac = [System.Security.Cryptography.HMACSHA256]::new($script:LxKey)
  try { $mac = $hmac.ComputeHash([System.Text.Encoding]::ASCII.GetBytes($Id + ' ' + $Line)) }
  finally { $hmac.Dispose() }
  $hex = [System.BitConverter]::ToString($mac).Replace('-', '').ToLowerInvariant()
  [Console]::Out.WriteLine('lx1r ' + $Id + ' ' + $hex + ' ' + $Line)
}

function Set-LxSessionKey {
  # Called once, before the Lync module is imported: from then on every answer carries a MAC with this key.
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string]$Payload)
  $lines = (ConvertFrom-LxBase64 $Payload).Split([char]10)
  if ($lines.Length -eq 2 -and $lines[0] -ceq 'lx1' -and $lines[1] -cmatch '^key ([0-9a-f]{64})$') {
    $hex = $Matches[1]
    $bytes = [byte[]]::new(32)
    for ($i = 0; $i -lt 32; $i++) { $bytes[$i] = [System.Convert]::ToByte($hex.Substring(2 * $i, 2), 16) }
    $script:LxKey = $bytes
    [Console]::Out.WriteLine('lx1k ok')
  }
  else { [Console]::Out.WriteLine('lx1k bad') }
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

function Get-LxPayloadId {
  # The invocation id a payload carries on its second line ('id <32 hex>'), or $null.
  param([string]$Payload)
  try { $text = ConvertFrom-LxBase64 $Payload } catch { return $null }
  $lines = $text.Split([char]10)
  if ($lines.Length -ge 2 -and $lines[1] -cmatch '^id ([0-9a-f]{32})$') { return $Matches[1] }
  return $null
}

function Read-LxStep {
  # Decodes a step payload into a cmdlet name and an ordered parameter dictionary with typed values.
  param([string]$Payload)
  $lines = Read-LxPayloadLines $Payload
  if ($lines.Length -lt 3) { throw (New-LxErrorRecord -Message 'payload: no cmdlet line' -ErrorId 'LxBadPayload' -Category InvalidData) }
  $head = $lines[2].Split([char]32)
  if ($head.Length -ne 2 -or $head[0] -cne 'cmdlet' -or $head[1] -cnotmatch $script:LxNamePattern) {
    throw (New-LxErrorRecord -Message 'payload: bad cmdlet line' -ErrorId 'LxBadPayload' -Category InvalidData)
  }
  $params = [ordered]@{}
  for ($i = 3; $i -lt $lines.Length; $i++) {
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
  $id = Get-LxPayloadId $Payload
  try {
    $lines = Read-LxPayloadLines $Payload
    $module = $null
    $allowed = @{}
    $projections = @{}
    for ($i = 2; $i -lt $lines.Length; $i++) {
      $f = $lines[$i].Split([char]32)
      if ($f.Length -eq 2 -and $f[0] -ceq 'module') { $module = ConvertFrom-LxBase64 $f[1] }
      elseif ($f.Length -eq 2 -and $f[0] -ceq 'allow' -and $f[1] -cmatch $script:LxNamePattern) { $allowed[$f[1]] = $true }
      elseif ($f.Length -eq 3 -and $f[0] -ceq 'project' -and $f[1] -cmatch $script:LxNamePattern -and $f[2] -cmatch '^[A-Za-z][A-Za-z0-9]*(,[A-Za-z][A-Za-z0-9]*)*$') {
        $projections[$f[1]] = [string[]]$f[2].Split([char]44)
      }
      else { throw (New-LxErrorRecord -Message "payload: bad init line $i" -ErrorId 'LxBadPayload' -Category InvalidData) }
    }
    if ([string]::IsNullOrEmpty($module)) {
      throw (New-LxErrorRecord -Message 'payload: no module' -ErrorId 'LxBadPayload' -Category InvalidData)
    }
    # The console keeps each line it read from stdin as history, the key's line too: gone before module code runs.
    Clear-History
    # -Global: the cmdlets must be visible outside this module; -DisableNameChecking: no verb warnings on stdout.
    $info = @(Import-Module -Name $module -Global -PassThru -DisableNameChecking -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 6>$null)
    if ($info.Length -eq 0) {
      throw (New-LxErrorRecord -Message "importing module ${module}: nothing was imported" -ErrorId 'LxModuleEmpty' -Category ObjectNotFound -Target $module)
    }
    $script:LxModuleInfo = $info[0]
    $script:LxAllowed = $allowed
    $script:LxProjections = $projections
    $m = $script:LxModuleInfo
    $line = '{"ok":true,"output":[{"Name":' + (Format-LxJsonString $m.Name) + ',"Version":' + (Format-LxJsonString ([string]$m.Version)) +
      ',"Path":' + (Format-LxJsonString $m.Path) + '}]}'
  }
  catch {
    $line = Format-LxFailure $_
  }
  Write-LxAnswer $id $line
}

function ConvertTo-LxWireValue {
  # One property value as the bot reads it: scalars as they are, enums by name, dates in UTC (a Local or
  # Unspecified date is the agent host's local time: ToUniversalTime converts both), arrays of such values, and
  # anything else (an identity object, an XmlElement) as its string form, never followed into its members.
  param([AllowNull()][object]$Value, [int]$Level = 0)
  if ($null -eq $Value -or $Value -is [System.DBNull]) { return $null }
  if ($Value -is [string] -or $Value -is [bool]) { return $Value }
  if ($Value -is [char]) { return [string]$Value }
  if ($Value -is [enum]) { return $Value.ToString() }
  if ($Value -is [DateTime]) { return $Value.ToUniversalTime().ToString('o', $script:LxInvariant) }
  if ($Value -is [DateTimeOffset]) { return $Value.UtcDateTime.ToString('o', $script:LxInvariant) }
  $code = [int][System.Type]::GetTypeCode($Value.GetType())
  if ($code -ge 5 -and $code -le 15) { return $Value }
  if ($Level -eq 0 -and $Value -is [System.Collections.IEnumerable] -and $Value -isnot [System.Collections.IDictionary] -and $Value -isnot [System.Xml.XmlNode]) {
    $list = [System.Collections.Generic.List[object]]::new()
    foreach ($item in $Value) { $list.Add((ConvertTo-LxWireValue $item 1)) }
    return , $list.ToArray()
  }
  return [string]$Value
}

function ConvertTo-LxProjected {
  # A read cmdlet's object reduced to the listed properties (those it has), in the listed order.
  param([object]$Item, [string[]]$Properties)
  $out = [ordered]@{}
  foreach ($name in $Properties) {
    $p = $Item.PSObject.Properties[$name]
    if ($null -eq $p) { continue }
    $v = $null
    try { $v = $p.Value } catch { $v = $null }
    $out[$name] = ConvertTo-LxWireValue $v
  }
  return $out
}

function Invoke-LxStep {
  # Runs one allowlisted cmdlet of the imported module with splatted parameters and writes one JSON line.
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string]$Payload)
  $ErrorActionPreference = 'Stop'
  $WarningPreference = 'Continue'
  $InformationPreference = 'SilentlyContinue'
  $VerbosePreference = 'SilentlyContinue'
  $ProgressPreference = 'SilentlyContinue'
  $id = Get-LxPayloadId $Payload
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
    # Preference variables do not cross into script modules; the common parameters do.
    if ($cmd.Parameters.ContainsKey('ErrorAction')) { $params['ErrorAction'] = 'Stop' }
    if ($cmd.Parameters.ContainsKey('WarningAction')) { $params['WarningAction'] = 'Continue' }
    # Warnings join the output (3>&1) to come back with the result; verbose, debug and host/information text go.
    $results = @(& $cmd @params 3>&1 4>$null 5>$null 6>$null)
    $projection = $null
    if ($script:LxProjections.ContainsKey($name)) { $projection = $script:LxProjections[$name] }
    $warnings = [System.Collections.Generic.List[string]]::new()
    try {
      $items = [System.Collections.Generic.List[string]]::new()
      foreach ($r in $results) {
        if ($null -eq $r) { continue }
        if ($r -is [System.Management.Automation.WarningRecord]) { $warnings.Add((Format-LxJsonString $r.Message)); continue }
        if ($null -ne $projection) { $items.Add((ConvertTo-LxJson -InputObject (ConvertTo-LxProjected $r $projection) -Depth 3)) }
        elseif ($r -is [string] -or $r -is [bool] -or $r -is [enum] -or $r -is [ValueType]) { $items.Add((ConvertTo-LxJson -InputObject (ConvertTo-LxWireValue $r 1) -Depth 1)) }
        else { $items.Add((Format-LxJsonString ([string]$r))) }   # an object nobody asked for: its string form only
      }
    }
    catch {
      $ex = [System.InvalidOperationException]::new("serializing output of ${name}: $($_.Exception.Message)", $_.Exception)
      throw (New-LxErrorRecord -Message $ex.Message -ErrorId 'LxOutputNotSerializable' -Category InvalidResult -Target $name -Exception $ex)
    }
    $line = '{"ok":true,"output":[' + ($items -join ',') + '],"warnings":[' + ($warnings -join ',') + ']}'
  }
  catch {
    $line = Format-LxFailure $_
  }
  Write-LxAnswer $id $line
}

Export-ModuleMember -Function Set-LxSessionKey, Initialize-LxAgent, Invoke-LxStep
