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

function ConvertTo-LxJson {
  # One line of JSON for any value. Pass arrays with -InputObject (not the pipeline) so @(1) stays [1].
  # Iterative with an explicit stack, not recursive: a PowerShell function call costs ~100x a loop iteration, and
  # the simulator serializes its whole state file on every write.
  [CmdletBinding()]
  [OutputType([string])]
  param(
    [Parameter(Position = 0)][AllowNull()][object]$InputObject,
    [ValidateRange(0, 100)][int]$Depth = 5
  )
  $sb = [System.Text.StringBuilder]::new()
  $re = $script:LxJsonNeedsEscape
  $inv = $script:LxJsonInvariant
  # A frame is an open container: @(keys or $null for an array, values, level of its members, next index).
  $stack = [System.Collections.Generic.Stack[object]]::new()
  $value = $InputObject
  $level = 0
  while ($true) {
    # 1. Write $value: a scalar at once; a container opens and pushes a frame whose members come next.
    $text = $null   # set when $value is written as a JSON string
    if ($null -eq $value -or $value -is [System.DBNull]) { [void]$sb.Append('null') }
    elseif ($value -is [string] -or $value -is [char]) { $text = [string]$value }
    # Enums before numbers (their type code is the underlying integer's): the bot wants the name.
    elseif ($value -is [enum]) { $text = $value.ToString() }
    elseif ($value -is [DateTime] -or $value -is [DateTimeOffset]) { $text = $value.ToString('o', $inv) }
    elseif ($value -is [bool]) { if ($value) { [void]$sb.Append('true') } else { [void]$sb.Append('false') } }
    else {
      $code = [int][System.Type]::GetTypeCode($value.GetType())
      if ($code -ge 5 -and $code -le 12 -or $code -eq 15) { [void]$sb.Append($value.ToString($inv)) }  # integers, decimal
      elseif ($code -eq 13 -or $code -eq 14) {
        # JSON has no NaN or Infinity: null, as JSON.stringify writes. 'R' keeps the value exact.
        if ([double]::IsNaN($value) -or [double]::IsInfinity($value)) { [void]$sb.Append('null') }
        else { [void]$sb.Append($value.ToString('R', $inv)) }
      }
      elseif ($value -is [guid] -or $value -is [uri] -or $value -is [version] -or $value -is [timespan] -or
        $value -is [System.Numerics.BigInteger] -or $level -gt $Depth) {
        $text = "$value"   # simple values, and containers beyond -Depth (as ConvertTo-Json does)
      }
      else {
        $keys = $null
        $values = [System.Collections.Generic.List[object]]::new()
        if ($value -is [System.Collections.IDictionary]) {
          # GetEnumerator, not $value[$key]: an [ordered] dictionary indexed by an int returns the entry at that position.
          $keys = [System.Collections.Generic.List[string]]::new()
          foreach ($entry in $value.GetEnumerator()) { $keys.Add([string]$entry.Key); $values.Add($entry.Value) }
        }
        elseif ($value -is [System.Collections.IEnumerable]) {
          foreach ($item in $value) { $values.Add($item) }
        }
        else {
          # [pscustomobject] or any .NET object: its data properties in declared order; a getter that throws is null.
          $keys = [System.Collections.Generic.List[string]]::new()
          foreach ($p in $value.PSObject.Properties) {
            $kind = [string]$p.MemberType
            if ($kind -ne 'Property' -and $kind -ne 'NoteProperty' -and $kind -ne 'ScriptProperty') { continue }
            $v = $null
            try { $v = $p.Value } catch { $v = $null }
            $keys.Add($p.Name)
            $values.Add($v)
          }
        }
        if ($null -eq $keys) { [void]$sb.Append('[') } else { [void]$sb.Append('{') }
        $stack.Push([object[]]@($keys, $values, ($level + 1), 0))
      }
    }
    if ($null -ne $text) {
      if ($re.IsMatch($text)) { Add-LxJsonString $sb $text }
      else { [void]$sb.Append('"').Append($text).Append('"') }
    }

    # 2. Move to the next member of the innermost open container, closing the ones that are finished.
    $more = $false
    while ($stack.Count -gt 0) {
      $frame = $stack.Peek()
      $i = [int]$frame[3]
      if ($i -lt $frame[1].Count) {
        if ($i -gt 0) { [void]$sb.Append(',') }
        if ($null -ne $frame[0]) {
          $key = $frame[0][$i]
          if ($re.IsMatch($key)) { Add-LxJsonString $sb $key } else { [void]$sb.Append('"').Append($key).Append('"') }
          [void]$sb.Append(':')
        }
        $value = $frame[1][$i]
        $level = $frame[2]
        $frame[3] = $i + 1
        $more = $true
        break
      }
      if ($null -eq $frame[0]) { [void]$sb.Append(']') } else { [void]$sb.Append('}') }
      [void]$stack.Pop()
    }
    if (-not $more) { break }
  }
  return $sb.ToString()
}

# --- parsing -------------------------------------------------------------------------------------------------------
# One loop over the string with an index and an explicit stack of open containers (again: no function call per
# value). Strings without escapes are cut out with IndexOfAny + Substring; the rest go through Read-LxJsonString.

function Get-LxJsonError {
  param([string]$Message, [int]$At)
  return [System.FormatException]::new("LxJson: $Message at position $At")
}

function Read-LxJsonString {
  # The slow path for a string with escapes: $Pos.Value is at the opening quote; leaves it past the closing one.
  param([string]$Json, [ref]$Pos)
  $i = $Pos.Value + 1
  $n = $Json.Length
  $sb = [System.Text.StringBuilder]::new()
  $stops = $script:LxJsonStringStops
  while ($true) {
    $j = $Json.IndexOfAny($stops, $i)
    if ($j -lt 0) { throw (Get-LxJsonError 'unterminated string' $Pos.Value) }
    # Copy the plain run in one go; a raw control character is an error (JSON requires it escaped).
    [void]$sb.Append($Json, $i, $j - $i)
    if ($Json[$j] -ceq '"') { $Pos.Value = $j + 1; return $sb.ToString() }
    if ([int]$Json[$j] -lt 0x20) { throw (Get-LxJsonError 'control character in string' $j) }
    if ($j + 1 -ge $n) { throw (Get-LxJsonError 'unterminated escape' $j) }
    $e = [string]$Json[$j + 1]
    $i = $j + 2
    if ($e -ceq '"') { [void]$sb.Append('"') }
    elseif ($e -ceq '\') { [void]$sb.Append('\') }
    elseif ($e -ceq '/') { [void]$sb.Append('/') }
    elseif ($e -ceq 'b') { [void]$sb.Append([char]0x08) }
    elseif ($e -ceq 'f') { [void]$sb.Append([char]0x0C) }
    elseif ($e -ceq 'n') { [void]$sb.Append([char]0x0A) }
    elseif ($e -ceq 'r') { [void]$sb.Append([char]0x0D) }
    elseif ($e -ceq 't') { [void]$sb.Append([char]0x09) }
    elseif ($e -ceq 'u') {
      # \uXXXX is one UTF-16 code unit; a surrogate pair arrives as two escapes and rejoins by itself.
      if ($j + 6 -gt $n) { throw (Get-LxJsonError 'short \u escape' $j) }
      $hex = $Json.Substring($j + 2, 4)
      $unit = 0
      if ($hex -notmatch '^[0-9A-Fa-f]{4}$' -or -not [int]::TryParse($hex, [System.Globalization.NumberStyles]::AllowHexSpecifier, $script:LxJsonInvariant, [ref]$unit)) {
        throw (Get-LxJsonError "bad \u escape '$hex'" $j)
      }
      [void]$sb.Append([char]$unit)
      $i = $j + 6
    }
    else { throw (Get-LxJsonError "bad escape '\$e'" $j) }
  }
}

function ConvertFrom-LxJson {
  # Parses one JSON text. Objects become [ordered] dictionaries (key order kept), arrays object[] (a one-element or
  # empty array stays an array when assigned: $a = ConvertFrom-LxJson '[1]'), integers [long] (or [double] when they
  # do not fit), other numbers [double]. A repeated key keeps the last value, as JSON.parse does.
  [CmdletBinding()]
  param([Parameter(Mandatory, Position = 0)][AllowEmptyString()][string]$Json)
  $n = $Json.Length
  $i = 0
  $stops = $script:LxJsonStringStops
  $inv = $script:LxJsonInvariant
  # A frame is an open container: @(the [ordered] dictionary or List, is-object, the key whose value comes next).
  $stack = [System.Collections.Generic.Stack[object]]::new()
  $needKey = $false
  while ($true) {
    while ($i -lt $n -and ($Json[$i] -ceq ' ' -or $Json[$i] -ceq "`n" -or $Json[$i] -ceq "`r" -or $Json[$i] -ceq "`t")) { $i++ }
    if ($needKey) {
      # "key" : -- then the member's value
      if ($i -ge $n -or $Json[$i] -cne '"') { throw (Get-LxJsonError 'expected a "key"' $i) }
      $j = $Json.IndexOfAny($stops, $i + 1)
      if ($j -ge 0 -and $Json[$j] -ceq '"') { $key = $Json.Substring($i + 1, $j - $i - 1); $i = $j + 1 }
      else { $key = Read-LxJsonString $Json ([ref]$i) }
      $stack.Peek()[2] = $key
      while ($i -lt $n -and ($Json[$i] -ceq ' ' -or $Json[$i] -ceq "`n" -or $Json[$i] -ceq "`r" -or $Json[$i] -ceq "`t")) { $i++ }
      if ($i -ge $n -or $Json[$i] -cne ':') { throw (Get-LxJsonError "expected ':'" $i) }
      $i++
      $needKey = $false
      continue
    }
    if ($i -ge $n) { throw (Get-LxJsonError 'unexpected end of input' $i) }

    # 1. One value at $i: a scalar, an empty container, or an open container whose members come next.
    $c = $Json[$i]
    if ($c -ceq '{' -or $c -ceq '[') {
      $isObj = $c -ceq '{'
      $i++
      while ($i -lt $n -and ($Json[$i] -ceq ' ' -or $Json[$i] -ceq "`n" -or $Json[$i] -ceq "`r" -or $Json[$i] -ceq "`t")) { $i++ }
      if ($isObj -and $i -lt $n -and $Json[$i] -ceq '}') { $i++; $value = [ordered]@{} }
      elseif (-not $isObj -and $i -lt $n -and $Json[$i] -ceq ']') { $i++; $value = [object[]]@() }
      else {
        if ($isObj) { $container = [ordered]@{} } else { $container = [System.Collections.Generic.List[object]]::new() }
        $stack.Push([object[]]@($container, $isObj, $null))
        $needKey = $isObj
        continue
      }
    }
    elseif ($c -ceq '"') {
      $j = $Json.IndexOfAny($stops, $i + 1)
      if ($j -ge 0 -and $Json[$j] -ceq '"') { $value = $Json.Substring($i + 1, $j - $i - 1); $i = $j + 1 }
      else { $value = Read-LxJsonString $Json ([ref]$i) }
    }
    elseif ([string]::CompareOrdinal($Json, $i, 'true', 0, 4) -eq 0) { $value = $true; $i += 4 }
    elseif ([string]::CompareOrdinal($Json, $i, 'false', 0, 5) -eq 0) { $value = $false; $i += 5 }
    elseif ([string]::CompareOrdinal($Json, $i, 'null', 0, 4) -eq 0) { $value = $null; $i += 4 }
    else {
      $m = $script:LxJsonNumber.Match($Json, $i)
      if (-not $m.Success) { throw (Get-LxJsonError "unexpected character '$c'" $i) }
      $i += $m.Length
      $l = [long]0
      if (-not $m.Groups[1].Success -and -not $m.Groups[2].Success -and
        [long]::TryParse($m.Value, [System.Globalization.NumberStyles]::AllowLeadingSign, $inv, [ref]$l)) { $value = $l }
      else { $value = [double]::Parse($m.Value, [System.Globalization.NumberStyles]::Float, $inv) }
    }

    # 2. Place the value in its container; after it comes ',' (next member) or the close (the container is a value).
    $next = $false
    while ($stack.Count -gt 0) {
      $frame = $stack.Peek()
      if ($frame[1]) { $frame[0][[string]$frame[2]] = $value } else { $frame[0].Add($value) }
      while ($i -lt $n -and ($Json[$i] -ceq ' ' -or $Json[$i] -ceq "`n" -or $Json[$i] -ceq "`r" -or $Json[$i] -ceq "`t")) { $i++ }
      $close = ']'
      if ($frame[1]) { $close = '}' }
      if ($i -lt $n -and $Json[$i] -ceq ',') { $i++; $needKey = $frame[1]; $next = $true; break }
      if ($i -lt $n -and $Json[$i] -ceq $close) {
        $i++
        [void]$stack.Pop()
        if ($frame[1]) { $value = $frame[0] } else { $value = $frame[0].ToArray() }
        continue
      }
      throw (Get-LxJsonError "expected ',' or '$close'" $i)
    }
    if (-not $next) { break }
  }
  while ($i -lt $n -and ($Json[$i] -ceq ' ' -or $Json[$i] -ceq "`n" -or $Json[$i] -ceq "`r" -or $Json[$i] -ceq "`t")) { $i++ }
  if ($i -lt $n) { throw (Get-LxJsonError 'unexpected text after the value' $i) }
  return , $value
}
