# LxJson: JSON without the Utility module. Dot-sourced by the LyncSim module and by the agent prelude.
#
# Why not ConvertTo-Json / ConvertFrom-Json: the test host is a bare PowerShell 7 engine without
# Microsoft.PowerShell.Utility, and in Windows PowerShell 5.1 (production) ConvertTo-Json writes enums as numbers,
# dates as \/Date(ms)\/, and ConvertFrom-Json has no -AsHashtable. These two functions behave the same on both.
#
# Only the language, the engine's core cmdlets and .NET are used; no ternary, ??, ?. or && / || (5.1 must parse it).
#
#   ConvertTo-LxJson [-InputObject] <obj> [-Depth <int>]  -> one line of JSON (a [string])
#   ConvertFrom-LxJson [-Json] <string>                   -> [ordered] dictionaries, object[], string, long/double,
#                                                            bool, $null

# Characters that need escaping (or a closer look, for surrogates): a string without any takes the fast path.
$script:LxJsonNeedsEscape = [regex]::new('[\u0000-\u001F"\\\u2028\u2029\uD800-\uDFFF]')
$script:LxJsonNumber = [regex]::new('\G-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?')
$script:LxJsonInvariant = [System.Globalization.CultureInfo]::InvariantCulture
# Where a run of plain string characters ends: a quote, a backslash, or a raw control character (an error).
$script:LxJsonStringStops = [char[]]((@(0x22, 0x5C) + (0..0x1F)) | ForEach-Object { [char]$_ })

function Add-LxJsonString {
  # Appends a JSON string literal. Escapes what JSON requires plus U+2028/U+2029 (line breaks to JavaScript) and
  # lone surrogates (as Node's well-formed JSON.stringify does); all other non-ASCII text is kept as it is.
  param([System.Text.StringBuilder]$Sb, [string]$Text)
  [void]$Sb.Append('"')
  if (-not $script:LxJsonNeedsEscape.IsMatch($Text)) {
    [void]$Sb.Append($Text).Append('"')
    return
  }
  $n = $Text.Length
  for ($i = 0; $i -lt $n; $i++) {
    $c = $Text[$i]
    $code = [int]$c
    if ($c -ceq '"') { [void]$Sb.Append('\"') }
    elseif ($c -ceq '\') { [void]$Sb.Append('\\') }
    elseif ($code -eq 0x0A) { [void]$Sb.Append('\n') }
    elseif ($code -eq 0x0D) { [void]$Sb.Append('\r') }
    elseif ($code -eq 0x09) { [void]$Sb.Append('\t') }
    elseif ($code -eq 0x08) { [void]$Sb.Append('\b') }
    elseif ($code -eq 0x0C) { [void]$Sb.Append('\f') }
    elseif ($code -lt 0x20 -or $code -eq 0x2028 -or $code -eq 0x2029) {
      [void]$Sb.Append('\u').Append($code.ToString('x4'))
    }
    elseif ([char]::IsHighSurrogate($c) -and ($i + 1) -lt $n -and [char]::IsLowSurrogate($Text[$i + 1])) {
      # a well-formed pair (emoji and the like): keep both halves as they are
      [void]$Sb.Append($c).Append($Text[$i + 1])
      $i++
    }
    elseif ([char]::IsSurrogate($c)) { [void]$Sb.Append('\u').Append($code.ToString('x4')) }
    else { [void]$Sb.Append($c) }
  }
  [void]$Sb.Append('"')
}

function Add-LxJsonValue {
  # Appends one value. $Level is how deep this value sits (the top is 0); a container deeper than $Depth is written
  # as its "$x" string, like ConvertTo-Json does, so cyclic or huge .NET object graphs stay bounded.
  param([System.Text.StringBuilder]$Sb, [AllowNull()][object]$Value, [int]$Level, [int]$Depth)
  if ($null -eq $Value -or $Value -is [System.DBNull]) { [void]$Sb.Append('null'); return }
  if ($Value -is [string]) { Add-LxJsonString $Sb $Value; return }
  # Enums before numbers: their type code is the underlying integer's, but the bot wants the name.
  if ($Value -is [enum]) { Add-LxJsonString $Sb $Value.ToString(); return }
  if ($Value -is [DateTime]) { Add-LxJsonString $Sb $Value.ToString('o', $script:LxJsonInvariant); return }
  if ($Value -is [DateTimeOffset]) { Add-LxJsonString $Sb $Value.ToString('o', $script:LxJsonInvariant); return }

  $code = [System.Type]::GetTypeCode($Value.GetType())
  switch ($code) {
    'Boolean' { if ($Value) { [void]$Sb.Append('true') } else { [void]$Sb.Append('false') }; return }
    'Char' { Add-LxJsonString $Sb ([string]$Value); return }
    { $_ -eq 'Double' -or $_ -eq 'Single' } {
      # JSON has no NaN or Infinity: write null, as JSON.stringify does. 'R' keeps the value exact.
      if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { [void]$Sb.Append('null') }
      else { [void]$Sb.Append($Value.ToString('R', $script:LxJsonInvariant)) }
      return
    }
    { $_ -eq 'SByte' -or $_ -eq 'Byte' -or $_ -eq 'Int16' -or $_ -eq 'UInt16' -or $_ -eq 'Int32' -or $_ -eq 'UInt32' -or
      $_ -eq 'Int64' -or $_ -eq 'UInt64' -or $_ -eq 'Decimal' } {
      [void]$Sb.Append($Value.ToString($script:LxJsonInvariant))
      return
    }
  }
  if ($Value -is [guid] -or $Value -is [uri] -or $Value -is [version] -or $Value -is [timespan] -or
    $Value -is [System.Numerics.BigInteger]) {
    Add-LxJsonString $Sb ([string]$Value)
    return
  }
  if ($Level -gt $Depth) { Add-LxJsonString $Sb ("$Value"); return }

  if ($Value -is [System.Collections.IDictionary]) {
    # GetEnumerator, not $Value[$key]: an [ordered] dictionary indexed by an int key returns the entry at that position.
    [void]$Sb.Append('{')
    $first = $true
    foreach ($entry in $Value.GetEnumerator()) {
      if (-not $first) { [void]$Sb.Append(',') }
      $first = $false
      Add-LxJsonString $Sb ([string]$entry.Key)
      [void]$Sb.Append(':')
      Add-LxJsonValue $Sb $entry.Value ($Level + 1) $Depth
    }
    [void]$Sb.Append('}')
    return
  }
  if ($Value -is [System.Collections.IEnumerable]) {
    [void]$Sb.Append('[')
    $first = $true
    foreach ($item in $Value) {
      if (-not $first) { [void]$Sb.Append(',') }
      $first = $false
      Add-LxJsonValue $Sb $item ($Level + 1) $Depth
    }
    [void]$Sb.Append(']')
    return
  }
  # Any other object ([pscustomobject] or .NET): its data properties, in their declared order.
  [void]$Sb.Append('{')
  $first = $true
  foreach ($p in $Value.PSObject.Properties) {
    $kind = [string]$p.MemberType
    if ($kind -ne 'Property' -and $kind -ne 'NoteProperty' -and $kind -ne 'ScriptProperty') { continue }
    $v = $null
    try { $v = $p.Value } catch { $v = $null }  # a getter that throws is written as null, not a failed serialization
    if (-not $first) { [void]$Sb.Append(',') }
    $first = $false
    Add-LxJsonString $Sb $p.Name
    [void]$Sb.Append(':')
    Add-LxJsonValue $Sb $v ($Level + 1) $Depth
  }
  [void]$Sb.Append('}')
}

function ConvertTo-LxJson {
  # One line of JSON for any value. Pass arrays with -InputObject (not the pipeline) so @(1) stays [1].
  [CmdletBinding()]
  [OutputType([string])]
  param(
    [Parameter(Position = 0)][AllowNull()][object]$InputObject,
    [ValidateRange(0, 100)][int]$Depth = 5
  )
  $sb = [System.Text.StringBuilder]::new()
  Add-LxJsonValue $sb $InputObject 0 $Depth
  return $sb.ToString()
}

# --- parsing -------------------------------------------------------------------------------------------------------
# A recursive-descent parser over the string with a [ref] index. Each Read-* function starts at $Pos.Value (after
# whitespace) and leaves $Pos.Value just past what it read. Arrays are returned as ,$array so that PowerShell does
# not unroll them on the way out of a function.

function Get-LxJsonError {
  param([string]$Message, [int]$At)
  return [System.FormatException]::new("LxJson: $Message at position $At")
}

function Skip-LxJsonSpace {
  param([string]$Json, [ref]$Pos)
  $i = $Pos.Value
  $n = $Json.Length
  while ($i -lt $n) {
    $c = $Json[$i]
    if ($c -ceq ' ' -or $c -ceq "`n" -or $c -ceq "`r" -or $c -ceq "`t") { $i++ } else { break }
  }
  $Pos.Value = $i
}

function Read-LxJsonString {
  param([string]$Json, [ref]$Pos)
  $i = $Pos.Value + 1   # past the opening quote
  $n = $Json.Length
  $sb = [System.Text.StringBuilder]::new()
  $stops = $script:LxJsonStringStops
  while ($true) {
    $j = $Json.IndexOfAny($stops, $i)
    if ($j -lt 0) { throw (Get-LxJsonError 'unterminated string' $Pos.Value) }
    # Copy the plain run in one go; a raw control character is an error (JSON requires it escaped).
    [void]$sb.Append($Json, $i, $j - $i)
    if ([int]$Json[$j] -lt 0x20) { throw (Get-LxJsonError 'control character in string' $j) }
    if ($Json[$j] -ceq '"') { $Pos.Value = $j + 1; return $sb.ToString() }
    if ($j + 1 -ge $n) { throw (Get-LxJsonError 'unterminated escape' $j) }
    $e = $Json[$j + 1]
    $i = $j + 2
    switch -CaseSensitive ([string]$e) {
      '"' { [void]$sb.Append('"') }
      '\' { [void]$sb.Append('\') }
      '/' { [void]$sb.Append('/') }
      'b' { [void]$sb.Append([char]0x08) }
      'f' { [void]$sb.Append([char]0x0C) }
      'n' { [void]$sb.Append([char]0x0A) }
      'r' { [void]$sb.Append([char]0x0D) }
      't' { [void]$sb.Append([char]0x09) }
      'u' {
        # \uXXXX is one UTF-16 code unit; a surrogate pair arrives as two escapes and rejoins by itself.
        if ($j + 6 -gt $n) { throw (Get-LxJsonError 'short \u escape' $j) }
        $hex = $Json.Substring($j + 2, 4)
        $unit = 0
        if (-not [int]::TryParse($hex, [System.Globalization.NumberStyles]::AllowHexSpecifier, $script:LxJsonInvariant, [ref]$unit)) {
          throw (Get-LxJsonError "bad \u escape '$hex'" $j)
        }
        [void]$sb.Append([char]$unit)
        $i = $j + 6
      }
      default { throw (Get-LxJsonError "bad escape '\$e'" $j) }
    }
  }
}

function Read-LxJsonValue {
  param([string]$Json, [ref]$Pos)
  Skip-LxJsonSpace $Json $Pos
  $i = $Pos.Value
  if ($i -ge $Json.Length) { throw (Get-LxJsonError 'unexpected end of input' $i) }
  $c = $Json[$i]
  if ($c -ceq '"') { return (Read-LxJsonString $Json $Pos) }
  if ($c -ceq '{') {
    $obj = [ordered]@{}
    $Pos.Value = $i + 1
    Skip-LxJsonSpace $Json $Pos
    if ($Pos.Value -lt $Json.Length -and $Json[$Pos.Value] -ceq '}') { $Pos.Value++; return $obj }
    while ($true) {
      Skip-LxJsonSpace $Json $Pos
      if ($Pos.Value -ge $Json.Length -or $Json[$Pos.Value] -cne '"') { throw (Get-LxJsonError 'expected a "key"' $Pos.Value) }
      $key = Read-LxJsonString $Json $Pos
      Skip-LxJsonSpace $Json $Pos
      if ($Pos.Value -ge $Json.Length -or $Json[$Pos.Value] -cne ':') { throw (Get-LxJsonError "expected ':'" $Pos.Value) }
      $Pos.Value++
      $value = Read-LxJsonValue $Json $Pos
      $obj[$key] = $value   # a repeated key keeps the last value, as JSON.parse does
      Skip-LxJsonSpace $Json $Pos
      if ($Pos.Value -ge $Json.Length) { throw (Get-LxJsonError "expected ',' or '}'" $Pos.Value) }
      $d = $Json[$Pos.Value]
      $Pos.Value++
      if ($d -ceq '}') { return $obj }
      if ($d -cne ',') { throw (Get-LxJsonError "expected ',' or '}'" ($Pos.Value - 1)) }
    }
  }
  if ($c -ceq '[') {
    $list = [System.Collections.Generic.List[object]]::new()
    $Pos.Value = $i + 1
    Skip-LxJsonSpace $Json $Pos
    if ($Pos.Value -lt $Json.Length -and $Json[$Pos.Value] -ceq ']') { $Pos.Value++; return , $list.ToArray() }
    while ($true) {
      $item = Read-LxJsonValue $Json $Pos
      $list.Add($item)
      Skip-LxJsonSpace $Json $Pos
      if ($Pos.Value -ge $Json.Length) { throw (Get-LxJsonError "expected ',' or ']'" $Pos.Value) }
      $d = $Json[$Pos.Value]
      $Pos.Value++
      if ($d -ceq ']') { return , $list.ToArray() }
      if ($d -cne ',') { throw (Get-LxJsonError "expected ',' or ']'" ($Pos.Value - 1)) }
    }
  }
  if ([string]::CompareOrdinal($Json, $i, 'true', 0, 4) -eq 0) { $Pos.Value = $i + 4; return $true }
  if ([string]::CompareOrdinal($Json, $i, 'false', 0, 5) -eq 0) { $Pos.Value = $i + 5; return $false }
  if ([string]::CompareOrdinal($Json, $i, 'null', 0, 4) -eq 0) { $Pos.Value = $i + 4; return $null }
  $m = $script:LxJsonNumber.Match($Json, $i)
  if ($m.Success -and $m.Length -gt 0) {
    $Pos.Value = $i + $m.Length
    if (-not $m.Groups[1].Success -and -not $m.Groups[2].Success) {
      $l = [long]0
      if ([long]::TryParse($m.Value, [System.Globalization.NumberStyles]::AllowLeadingSign, $script:LxJsonInvariant, [ref]$l)) { return $l }
    }
    return [double]::Parse($m.Value, [System.Globalization.NumberStyles]::Float, $script:LxJsonInvariant)
  }
  throw (Get-LxJsonError "unexpected character '$c'" $i)
}

function ConvertFrom-LxJson {
  # Parses one JSON text. Objects become [ordered] dictionaries (key order kept), arrays object[] (a one-element or
  # empty array stays an array when assigned: $a = ConvertFrom-LxJson '[1]'), integers [long], other numbers [double].
  [CmdletBinding()]
  param([Parameter(Mandatory, Position = 0)][AllowEmptyString()][string]$Json)
  $pos = 0
  $value = Read-LxJsonValue $Json ([ref]$pos)
  Skip-LxJsonSpace $Json ([ref]$pos)
  if ($pos -lt $Json.Length) { throw (Get-LxJsonError 'unexpected text after the value' $pos) }
  return , $value
}
