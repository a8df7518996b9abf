# LyncSim: the Lync Server 2013 / Skype for Business Server cmdlets that lync-exo uses, simulated over a JSON file,
# with Microsoft's parameter names, types, mandatory parameters and output property names and order
# (shared/reference/lync-cmdlets.md, sections 3-5 and 9).
#
# Runs on Windows PowerShell 5.1 and on the bare PowerShell 7 engine of the tests: only the language, the engine's
# core cmdlets and .NET (no Utility/Management cmdlets, no ternary, ??, ?. or && / ||).
# User values (Identity, ProxyFqdn, ...) are data from start to end: never expanded into script text.
#
# Environment
#   LYNCSIM_STATE  path of the state file (created with the default deployment when missing)
#   LYNCSIM_HOST   the FQDN this session plays; when unset, the first FrontEnd replica. A host whose replica role is
#                  Edge cannot reach the CMS: only -LocalStore reads work there. A host not in the replica list is an
#                  admin host: it reaches the CMS but has no local store.
#
# State file (UTF-8 JSON, no BOM; TypeScript types in src/simulator.ts)
#   version                 1
#   replicationLagSeconds   seconds before a CMS change reaches a replica (per replica: lagSeconds)
#   cms.accessEdge          the global Access Edge settings: the 19 documented properties (defaults of §3.1, the
#                           order of the Lync 2013 sample) + DiscoveredPartnerVerificationLevel, DnsSrvCacheRecordCount,
#                           SkypeSearchUrl, DefaultRouteFqdn, IsPublicProvider, VerificationLevel
#   cms.hostingProviders    [ { Identity, ProxyFqdn, VerificationLevel (name), Enabled, EnabledSharedAddressSpace,
#                           HostsOCSUsers, IsLocal, AutodiscoverUrl, SipClientPort } ] in creation order
#   cms.hostedVoicemailPolicies  [ { Identity, Description, Destination, Organization } ] (read-only here)
#   history                 [ { seq, at (ISO 8601 UTC), cms (a full copy) } ]: one entry per successful CMS write;
#                           seq 1 is the starting deployment, dated a day back so every replica starts up to date
#   replicas                [ { fqdn, role (FrontEnd|Edge|...), productVersion, lagSeconds (null = global),
#                           stuck, stuckAtSeq (null = 1), forcedAt (ISO, set by Invoke-CsManagementStoreReplication) } ]
#   faults.hang             cmdlet names that never return (a Thread.Sleep loop, holding no lock)
#   faults.fail             { cmdlet name: message }: that cmdlet fails with LyncSim.InjectedFault
#   calls                   [ { at, host, cmdlet, parameters, outcome (ok|error|hang), errorId } ]: every call of a
#                           state-changing cmdlet that got past parameter binding (not -WhatIf), so tests can count
#
# Replication model: a replica sees the newest history entry at least its lag old (a stuck one never beyond
# stuckAtSeq). UpToDate = it sees the latest seq and no forced replication is pending (forcedAt + lag in the future;
# a stuck replica never completes one). -LocalStore answers from the snapshot the host's replica sees.
#
# Decisions where the documentation is silent: Identity and ProxyFqdn compare case-insensitively (ordinal) but are
# stored and returned byte for byte; Get-CsHostingProvider -Identity of a missing provider returns nothing (as -Filter
# does); Get-CsManagementStoreReplicationStatus -ReplicaFqdn of an unknown replica returns nothing; New-CsHostingProvider
# writes nothing to the pipeline; ConfirmImpact is Medium everywhere, so nothing prompts unless -Confirm is passed;
# dates are UTC [DateTime]s. Not simulated: -Instance, -InMemory, public providers.

Set-StrictMode -Version 2.0

. ([System.IO.Path]::Combine($PSScriptRoot, '..', 'LxJson.ps1'))

enum VerificationLevelType {
  AlwaysVerifiable
  AlwaysUnverifiable
  UseSourceVerification
}

$script:Utf8 = [System.Text.UTF8Encoding]::new($false)
$script:Invariant = [System.Globalization.CultureInfo]::InvariantCulture
$script:IgnoreCase = [System.StringComparison]::OrdinalIgnoreCase
# Parameters left out of the call log: they say how to run, not what to change.
$script:CommonParameters = @('Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction',
  'ErrorVariable', 'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable')

# The Access Edge properties in the order of Microsoft's sample output (DNS SRV routing), and what default routing
# shows instead of BeClearingHouse and EnablePartnerDiscovery.
$script:AccessEdgeOrder = @('Identity', 'AllowAnonymousUsers', 'AllowFederatedUsers', 'AllowOutsideUsers', 'BeClearingHouse',
  'EnablePartnerDiscovery', 'EnableArchivingDisclaimer', 'EnableUserReplicator', 'KeepCrlsUpToDateForPeers',
  'MarkSourceVerifiableOnOutgoingMessages', 'OutgoingTlsCountForFederatedPartners', 'DiscoveredPartnerStandardRate',
  'EnableDiscoveredPartnerContactsLimit', 'MaxContactsPerDiscoveredPartner', 'DiscoveredPartnerReportPeriodMinutes',
  'MaxAcceptedCertificatesStored', 'MaxRejectedCertificatesStored', 'CertificatesDeletedPercentage', 'RoutingMethod')
$script:UInt32Settings = @('OutgoingTlsCountForFederatedPartners', 'DiscoveredPartnerStandardRate', 'MaxContactsPerDiscoveredPartner',
  'DiscoveredPartnerReportPeriodMinutes', 'MaxAcceptedCertificatesStored', 'MaxRejectedCertificatesStored',
  'CertificatesDeletedPercentage', 'DnsSrvCacheRecordCount')

# --- errors ----------------------------------------------------------------------------------------------------------

function New-LxSimError {
  # A terminating ErrorRecord with a real category and a LyncSim.* errorId (FullyQualifiedErrorId gets ",<cmdlet>").
  param([string]$Message, [string]$ErrorId, [System.Management.Automation.ErrorCategory]$Category, [object]$Target)
  if ($Category -eq [System.Management.Automation.ErrorCategory]::ObjectNotFound) {
    $ex = [System.Management.Automation.ItemNotFoundException]::new($Message)
  }
  else { $ex = [System.InvalidOperationException]::new($Message) }
  return [System.Management.Automation.ErrorRecord]::new($ex, "LyncSim.$ErrorId", $Category, $Target)
}

# --- state file ------------------------------------------------------------------------------------------------------

function Get-LxSimStatePath {
  $p = $env:LYNCSIM_STATE
  if ([string]::IsNullOrEmpty($p)) {
    throw (New-LxSimError 'LyncSim: set LYNCSIM_STATE to the path of the simulator state file.' 'NoStateFile' InvalidOperation $null)
  }
  return [System.IO.Path]::GetFullPath($p)
}

function Format-LxSimDate { param([DateTime]$Date) return $Date.ToUniversalTime().ToString('o', $script:Invariant) }

function ConvertTo-LxSimDate {
  param([AllowNull()][object]$Text)
  if ($null -eq $Text -or [string]$Text -eq '') { return $null }
  return [DateTime]::Parse([string]$Text, $script:Invariant, [System.Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime()
}

function Copy-LxSimValue {
  # A deep copy through JSON: history snapshots must not share dictionaries with the live CMS.
  param([AllowNull()][object]$Value)
  return , (ConvertFrom-LxJson (ConvertTo-LxJson -InputObject $Value -Depth 50))
}

function New-LxSimDefaultState {
  $accessEdge = [ordered]@{
    Identity = 'Global'; AllowAnonymousUsers = $false; AllowFederatedUsers = $false; AllowOutsideUsers = $true
    BeClearingHouse = $false; EnablePartnerDiscovery = $false; EnableArchivingDisclaimer = $false
    EnableUserReplicator = $true; KeepCrlsUpToDateForPeers = $true; MarkSourceVerifiableOnOutgoingMessages = $true
    OutgoingTlsCountForFederatedPartners = 4; DiscoveredPartnerStandardRate = 20; EnableDiscoveredPartnerContactsLimit = $true
    MaxContactsPerDiscoveredPartner = 1000; DiscoveredPartnerReportPeriodMinutes = 60; MaxAcceptedCertificatesStored = 1000
    MaxRejectedCertificatesStored = 500; CertificatesDeletedPercentage = 20; RoutingMethod = 'UseDnsSrvRouting'
    DiscoveredPartnerVerificationLevel = 'AlwaysVerifiable'; DnsSrvCacheRecordCount = $null; SkypeSearchUrl = $null
    DefaultRouteFqdn = $null; IsPublicProvider = $false; VerificationLevel = 'AlwaysVerifiable'
  }
  $cms = [ordered]@{
    accessEdge = $accessEdge
    hostingProviders = @()
    hostedVoicemailPolicies = @([ordered]@{ Identity = 'Global'; Description = $null; Destination = $null; Organization = $null })
  }
  $replica = {
    param($Fqdn, $Role)
    [ordered]@{ fqdn = $Fqdn; role = $Role; productVersion = '5.0.8308.0'; lagSeconds = $null; stuck = $false; stuckAtSeq = $null; forcedAt = $null }
  }
  return [ordered]@{
    version = 1
    replicationLagSeconds = 5
    cms = $cms
    history = @([ordered]@{ seq = 1; at = (Format-LxSimDate ([DateTime]::UtcNow.AddDays(-1))); cms = (Copy-LxSimValue $cms) })
    replicas = @((& $replica 'fe01.contoso.local' 'FrontEnd'), (& $replica 'edge01.contoso.local' 'Edge'))
    faults = [ordered]@{ hang = @(); fail = [ordered]@{} }
    calls = @()
  }
}

function Enter-LxSimLock {
  # An exclusive lock on <state>.lock (FileShare.None) around every read-modify-write: the internal and the Edge
  # sessions are separate processes sharing one file. Retries for 10 s, then fails instead of waiting forever.
  param([string]$StatePath)
  $lockPath = $StatePath + '.lock'
  $deadline = [DateTime]::UtcNow.AddSeconds(10)
  while ($true) {
    try {
      return [System.IO.File]::Open($lockPath, [System.IO.FileMode]::OpenOrCreate, [System.IO.FileAccess]::ReadWrite, [System.IO.FileShare]::None)
    }
    catch [System.IO.IOException] {
      if ([DateTime]::UtcNow -gt $deadline) {
        throw (New-LxSimError "LyncSim: the state file is locked by another session ($lockPath)." 'StateLocked' ResourceBusy $lockPath)
      }
      [System.Threading.Thread]::Sleep(15)
    }
  }
}

function Read-LxSimState {
  # Call with the lock held. A missing file becomes the default deployment (and is written at once).
  param([string]$StatePath)
  if (-not [System.IO.File]::Exists($StatePath)) {
    $state = New-LxSimDefaultState
    Write-LxSimState $StatePath $state
    return $state
  }
  $text = [System.IO.File]::ReadAllText($StatePath, $script:Utf8)
  try { $state = ConvertFrom-LxJson $text }
  catch {
    throw (New-LxSimError "LyncSim: the state file $StatePath is not valid JSON: $($_.Exception.Message)" 'BadStateFile' InvalidData $StatePath)
  }
  if ($state -isnot [System.Collections.IDictionary] -or $null -eq $state['cms']) {
    throw (New-LxSimError "LyncSim: the state file $StatePath has no cms object." 'BadStateFile' InvalidData $StatePath)
  }
  return $state
}

function Write-LxSimState {
  # Atomic: write a temp file beside the state, then replace, so a reader never sees half a file.
  # [NullString]::Value, not $null: PowerShell would pass $null to a string parameter as "" (no backup file).
  param([string]$StatePath, [System.Collections.IDictionary]$State)
  $tmp = "$StatePath.$PID.tmp"
  [System.IO.File]::WriteAllText($tmp, (ConvertTo-LxJson -InputObject $State -Depth 50), $script:Utf8)
  if ([System.IO.File]::Exists($StatePath)) { [System.IO.File]::Replace($tmp, $StatePath, [NullString]::Value) }
  else { [System.IO.File]::Move($tmp, $StatePath) }
}

function Get-LxSimList {
  # A state array as a List (the parser gives object[]; a hand-edited file may give $null).
  param([AllowNull()][object]$Value)
  $list = [System.Collections.Generic.List[object]]::new()
  if ($null -ne $Value) { foreach ($v in @($Value)) { $list.Add($v) } }
  return , $list
}

# --- hosts, faults and the session's view of the deployment -----------------------------------------------------------

function Get-LxSimHost {
  # The FQDN this session plays and its replica (or $null for an admin host outside the replica list).
  param([System.Collections.IDictionary]$State)
  $name = $env:LYNCSIM_HOST
  $replicas = (Get-LxSimList $State['replicas'])
  if ([string]::IsNullOrEmpty($name)) {
    foreach ($r in $replicas) { if ([string]$r.role -eq 'FrontEnd') { $name = [string]$r.fqdn; break } }
  }
  $mine = $null
  foreach ($r in $replicas) { if ([string]::Equals([string]$r.fqdn, $name, $script:IgnoreCase)) { $mine = $r; break } }
  return [pscustomobject]@{ Fqdn = $name; Replica = $mine }
}

function Assert-LxSimCmsReachable {
  param([object]$SimHost)
  if ($null -ne $SimHost.Replica -and [string]$SimHost.Replica.role -eq 'Edge') {
    throw (New-LxSimError ("Cannot connect to the Central Management Store from `"$($SimHost.Fqdn)`": an Edge Server holds only " +
        'a read-only replica and cannot reach the CMS. Run this command on an internal server, or read the local replica with -LocalStore.') 'CmsUnreachable' ConnectionError $SimHost.Fqdn)
  }
}

function Get-LxSimFault {
  # 'hang', an ErrorRecord for an injected failure, or $null.
  param([System.Collections.IDictionary]$State, [string]$Cmdlet)
  $faults = $State['faults']
  if ($null -eq $faults) { return $null }
  foreach ($h in (Get-LxSimList $faults['hang'])) { if ([string]$h -eq $Cmdlet) { return 'hang' } }
  $fail = $faults['fail']
  if ($null -ne $fail -and $fail.Contains($Cmdlet)) {
    return (New-LxSimError ([string]$fail[$Cmdlet]) 'InjectedFault' NotSpecified $Cmdlet)
  }
  return $null
}

function Wait-LxSimForever {
  # An injected hang: the caller's timeout is the only way out. No lock is held here.
  while ($true) { [System.Threading.Thread]::Sleep(1000) }
}

function Get-LxSimReplicaView {
  # What one replica holds at $Now: the history entry it sees, whether it is up to date, and its report times.
  param([System.Collections.IDictionary]$State, [System.Collections.IDictionary]$Replica, [DateTime]$Now)
  $history = Get-LxSimList $State['history']
  $lag = [double]$State['replicationLagSeconds']
  if ($null -ne $Replica['lagSeconds']) { $lag = [double]$Replica['lagSeconds'] }
  $cutoff = $Now.AddSeconds(-$lag)
  $stuck = [bool]$Replica['stuck']
  $stuckAt = [long]1
  if ($null -ne $Replica['stuckAtSeq']) { $stuckAt = [long]$Replica['stuckAtSeq'] }
  $latest = $null
  $seen = $null
  foreach ($h in $history) {
    if ($null -eq $latest -or [long]$h.seq -gt [long]$latest.seq) { $latest = $h }
    if ((ConvertTo-LxSimDate $h.at) -gt $cutoff) { continue }
    if ($stuck -and [long]$h.seq -gt $stuckAt) { continue }
    if ($null -eq $seen -or [long]$h.seq -gt [long]$seen.seq) { $seen = $h }
  }
  $forcedAt = ConvertTo-LxSimDate $Replica['forcedAt']
  $forcedPending = $false
  if ($null -ne $forcedAt) { $forcedPending = $stuck -or $forcedAt.AddSeconds($lag) -gt $Now }
  $upToDate = $null -ne $seen -and $null -ne $latest -and [long]$seen.seq -eq [long]$latest.seq -and -not $forcedPending
  # A working replica reports all the time; a stuck one last reported when it took its last update; a forced full
  # replication deletes the status until the replica reports again.
  $lastReport = $null
  $lastUpdate = $null
  $version = $null
  if ($null -ne $seen) {
    $lastUpdate = ConvertTo-LxSimDate $seen.at
    $version = [string]$Replica['productVersion']
    if ($stuck) { $lastReport = $lastUpdate.AddSeconds($lag) } else { $lastReport = $Now }
  }
  if ($forcedPending) { $lastReport = $null }
  return [pscustomobject]@{ Seen = $seen; UpToDate = $upToDate; LastStatusReport = $lastReport; LastUpdateCreation = $lastUpdate; ProductVersion = $version }
}

function Remove-LxSimUnneededHistory {
  # A replica only ever moves forward, so snapshots older than the oldest one any replica sees now are never read
  # again. Dropping them keeps the state file, and so every call, small however many changes a session makes.
  param([System.Collections.IDictionary]$State, [DateTime]$Now)
  $keepFrom = [long]::MaxValue
  foreach ($r in (Get-LxSimList $State['replicas'])) {
    $view = Get-LxSimReplicaView $State $r $Now
    if ($null -eq $view.Seen) { return }
    if ([long]$view.Seen.seq -lt $keepFrom) { $keepFrom = [long]$view.Seen.seq }
  }
  $kept = [System.Collections.Generic.List[object]]::new()
  foreach ($h in (Get-LxSimList $State['history'])) { if ([long]$h.seq -ge $keepFrom) { $kept.Add($h) } }
  $State['history'] = $kept
}

function Get-LxSimCmsView {
  # The CMS as this call sees it: the live store, or with -LocalStore the snapshot the host's replica holds
  # ($null when it never received one). Runs faults first: a hang holds no lock, a failure fails the read.
  param([string]$Cmdlet, [bool]$LocalStore)
  $path = Get-LxSimStatePath
  $lock = Enter-LxSimLock $path
  try { $state = Read-LxSimState $path }
  finally { $lock.Dispose() }
  $fault = Get-LxSimFault $state $Cmdlet
  if ($fault -is [string]) { Wait-LxSimForever }
  if ($null -ne $fault) { throw $fault }
  $simHost = Get-LxSimHost $state
  if ($LocalStore) {
    if ($null -eq $simHost.Replica) {
      throw (New-LxSimError ("`"$($simHost.Fqdn)`" has no local replica of the Central Management Store (it is not in the " +
          'replica list), so -LocalStore has nothing to read.') 'NoLocalStore' ResourceUnavailable $simHost.Fqdn)
    }
    $view = Get-LxSimReplicaView $state $simHost.Replica ([DateTime]::UtcNow)
    if ($null -eq $view.Seen) { return [pscustomobject]@{ State = $state; Cms = $null } }
    return [pscustomobject]@{ State = $state; Cms = $view.Seen.cms }
  }
  Assert-LxSimCmsReachable $simHost
  return [pscustomobject]@{ State = $state; Cms = $state['cms'] }
}

function ConvertTo-LxSimCallParameters {
  # The bound parameters as plain data for the call log: switches as booleans, enums as names.
  param([System.Collections.IDictionary]$Bound)
  $out = [ordered]@{}
  foreach ($entry in $Bound.GetEnumerator()) {
    if ($script:CommonParameters -contains $entry.Key) { continue }
    $v = $entry.Value
    if ($v -is [System.Management.Automation.SwitchParameter]) { $v = $v.IsPresent }
    elseif ($v -is [enum]) { $v = $v.ToString() }
    $out[$entry.Key] = $v
  }
  return $out
}

function Invoke-LxSimWrite {
  # One state-changing call: under the lock, check faults and CMS reachability, run $Change on the state, add a
  # history snapshot when $Change says the CMS changed, log the call, write the file; then hang or throw outside
  # the lock. $Change gets the state and returns $true when it changed the CMS (Invoke- changes replicas only).
  # $Change runs in a child scope of this function, so it sees its caller's parameters ($Identity, ...) by dynamic
  # scoping: keep this function's own variable names distinct from the cmdlets' parameter names.
  param([System.Management.Automation.PSCmdlet]$Cmdlet, [string]$Name, [System.Collections.IDictionary]$Bound, [scriptblock]$Change)
  $path = Get-LxSimStatePath
  $failure = $null
  $hang = $false
  $lock = Enter-LxSimLock $path
  try {
    $state = Read-LxSimState $path
    $now = [DateTime]::UtcNow
    $simHost = Get-LxSimHost $state
    $call = [ordered]@{ at = (Format-LxSimDate $now); host = $simHost.Fqdn; cmdlet = $Name; parameters = (ConvertTo-LxSimCallParameters $Bound); outcome = 'ok'; errorId = $null }
    $fault = Get-LxSimFault $state $Name
    if ($fault -is [string]) { $hang = $true; $call.outcome = 'hang' }
    else {
      try {
        if ($null -ne $fault) { throw $fault }
        Assert-LxSimCmsReachable $simHost
        $cmsChanged = & $Change $state
        if ($cmsChanged -eq $true) {
          $history = Get-LxSimList $state['history']
          $seq = [long]0
          foreach ($h in $history) { if ([long]$h.seq -gt $seq) { $seq = [long]$h.seq } }
          $history.Add([ordered]@{ seq = $seq + 1; at = (Format-LxSimDate $now); cms = (Copy-LxSimValue $state['cms']) })
          $state['history'] = $history
          Remove-LxSimUnneededHistory $state $now
        }
      }
      catch {
        $failure = $_
        $call.outcome = 'error'
        # as the caller will see it: ThrowTerminatingError appends ",<cmdlet>"
        $call.errorId = [string]$_.FullyQualifiedErrorId + ',' + $Name
      }
    }
    $calls = Get-LxSimList $state['calls']
    $calls.Add($call)
    $state['calls'] = $calls
    Write-LxSimState $path $state
  }
  finally { $lock.Dispose() }
  if ($hang) { Wait-LxSimForever }
  if ($null -ne $failure) { $Cmdlet.ThrowTerminatingError($failure) }
}

# --- output shapes ---------------------------------------------------------------------------------------------------

function ConvertTo-LxSimProvider {
  # DisplayHostingProvider, in the property order of Microsoft's mocks; Name is the Identity.
  param([System.Collections.IDictionary]$P)
  $url = $null
  if ($null -ne $P['AutodiscoverUrl']) { $url = [string]$P['AutodiscoverUrl'] }
  $port = [uint64]443
  if ($null -ne $P['SipClientPort']) { $port = [uint64]$P['SipClientPort'] }
  return [pscustomobject][ordered]@{
    Identity = [string]$P['Identity']
    Name = [string]$P['Identity']
    ProxyFqdn = [string]$P['ProxyFqdn']
    VerificationLevel = [VerificationLevelType][string]$P['VerificationLevel']
    Enabled = [bool]$P['Enabled']
    EnabledSharedAddressSpace = [bool]$P['EnabledSharedAddressSpace']
    HostsOCSUsers = [bool]$P['HostsOCSUsers']
    IsLocal = [bool]$P['IsLocal']
    AutodiscoverUrl = $url
    SipClientPort = $port
  }
}

function ConvertTo-LxSimAccessEdge {
  # DisplayAccessEdgeSettingsDnsSrvRouting or ...DefaultRoute: default routing shows DefaultRouteFqdn,
  # IsPublicProvider and VerificationLevel where DNS SRV routing shows BeClearingHouse and EnablePartnerDiscovery.
  param([System.Collections.IDictionary]$Settings)
  $defaultRoute = [string]$Settings['RoutingMethod'] -eq 'UseDefaultRouting'
  $out = [ordered]@{}
  foreach ($name in $script:AccessEdgeOrder) {
    if ($defaultRoute -and $name -eq 'BeClearingHouse') {
      $out['DefaultRouteFqdn'] = $Settings['DefaultRouteFqdn']
      $out['IsPublicProvider'] = [bool]$Settings['IsPublicProvider']
      $out['VerificationLevel'] = [VerificationLevelType][string]$Settings['VerificationLevel']
      continue
    }
    if ($defaultRoute -and $name -eq 'EnablePartnerDiscovery') { continue }
    $v = $Settings[$name]
    if ($script:UInt32Settings -contains $name -and $null -ne $v) { $v = [uint32]$v }
    elseif ($name -ne 'Identity' -and $name -ne 'RoutingMethod' -and $null -ne $v) { $v = [bool]$v }
    $out[$name] = $v
  }
  return [pscustomobject]$out
}

function Find-LxSimProvider {
  # The index of the provider with this Identity (case-insensitive), or -1.
  param([System.Collections.Generic.List[object]]$Providers, [string]$Identity)
  for ($i = 0; $i -lt $Providers.Count; $i++) {
    if ([string]::Equals([string]$Providers[$i].Identity, $Identity, $script:IgnoreCase)) { return $i }
  }
  return -1
}

function Get-LxSimProviderOrFail {
  param([System.Collections.IDictionary]$State, [string]$Identity)
  $providers = Get-LxSimList $State['cms']['hostingProviders']
  $i = Find-LxSimProvider $providers $Identity
  if ($i -lt 0) {
    throw (New-LxSimError "Cannot find a hosting provider with Identity `"$Identity`"." 'ProviderNotFound' ObjectNotFound $Identity)
  }
  return $providers[$i]
}

# --- Access Edge -----------------------------------------------------------------------------------------------------

function Get-CsAccessEdgeConfiguration {
  [CmdletBinding(DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(ParameterSetName = 'Identity', Position = 0)][string]$Identity,
    [Parameter(ParameterSetName = 'Filter')][string]$Filter,
    [switch]$LocalStore
  )
  try {
    $view = Get-LxSimCmsView 'Get-CsAccessEdgeConfiguration' $LocalStore.IsPresent
    if ($null -eq $view.Cms) { return }
    $settings = $view.Cms['accessEdge']
    $id = [string]$settings['Identity']
    # Only the global instance exists: another Identity or a Filter that misses it finds nothing.
    if ($PSBoundParameters.ContainsKey('Identity') -and -not [string]::Equals($Identity, $id, $script:IgnoreCase)) { return }
    if ($PSBoundParameters.ContainsKey('Filter') -and -not ([System.Management.Automation.WildcardPattern]::new($Filter, 'IgnoreCase').IsMatch($id))) { return }
    ConvertTo-LxSimAccessEdge $settings
  }
  catch { $PSCmdlet.ThrowTerminatingError($_) }
}

function Set-CsAccessEdgeConfiguration {
  # Parameter sets as documented: DNS SRV routing needs -UseDnsSrvRouting with -EnablePartnerDiscovery; default
  # routing needs -UseDefaultRouting with -DefaultRouteFqdn and no hosting providers. Returns nothing.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(Position = 0)][string]$Identity = 'Global',
    [bool]$AllowAnonymousUsers,
    [bool]$AllowFederatedUsers,
    [bool]$AllowOutsideUsers,
    [bool]$EnableArchivingDisclaimer,
    [bool]$KeepCrlsUpToDateForPeers,
    [bool]$MarkSourceVerifiableOnOutgoingMessages,
    [bool]$EnableDiscoveredPartnerContactsLimit,
    [bool]$EnableUserReplicator,
    [ValidateRange(1, 4)][uint32]$OutgoingTlsCountForFederatedPartners,
    [uint32]$CertificatesDeletedPercentage,
    [uint32]$DiscoveredPartnerReportPeriodMinutes,
    [uint32]$DiscoveredPartnerStandardRate,
    [uint32]$MaxAcceptedCertificatesStored,
    [uint32]$MaxContactsPerDiscoveredPartner,
    [uint32]$MaxRejectedCertificatesStored,
    [uint32]$DnsSrvCacheRecordCount,
    [string]$SkypeSearchUrl,
    [Parameter(Mandatory, ParameterSetName = 'DnsSrvRouting')][switch]$UseDnsSrvRouting,
    [Parameter(Mandatory, ParameterSetName = 'DnsSrvRouting')][bool]$EnablePartnerDiscovery,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][bool]$BeClearingHouse,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][VerificationLevelType]$DiscoveredPartnerVerificationLevel,
    [Parameter(Mandatory, ParameterSetName = 'DefaultRoute')][switch]$UseDefaultRouting,
    [Parameter(Mandatory, ParameterSetName = 'DefaultRoute')][ValidateNotNullOrEmpty()][string]$DefaultRouteFqdn,
    [Parameter(ParameterSetName = 'DefaultRoute')][bool]$IsPublicProvider,
    [Parameter(ParameterSetName = 'DefaultRoute')][VerificationLevelType]$VerificationLevel,
    [switch]$Force
  )
  if (-not $PSCmdlet.ShouldProcess($Identity, 'Set-CsAccessEdgeConfiguration')) { return }
  $bound = $PSBoundParameters
  $setName = $PSCmdlet.ParameterSetName
  Invoke-LxSimWrite $PSCmdlet 'Set-CsAccessEdgeConfiguration' $bound {
    param($State)
    $settings = $State['cms']['accessEdge']
    if (-not [string]::Equals($Identity, [string]$settings['Identity'], $script:IgnoreCase)) {
      throw (New-LxSimError "Cannot find an Access Edge configuration with Identity `"$Identity`": only the Global instance exists." 'AccessEdgeNotFound' ObjectNotFound $Identity)
    }
    if ($setName -eq 'DefaultRoute' -and (Get-LxSimList $State['cms']['hostingProviders']).Count -gt 0) {
      throw (New-LxSimError ('You must remove all hosting providers and public providers before you can assign a default route ' +
          '(-DefaultRouteFqdn). Remove them with Remove-CsHostingProvider first.') 'ProvidersExist' InvalidOperation $Identity)
    }
    $skip = @('Identity', 'Force', 'UseDnsSrvRouting', 'UseDefaultRouting', 'WhatIf', 'Confirm') + $script:CommonParameters
    foreach ($entry in $bound.GetEnumerator()) {
      if ($skip -contains $entry.Key) { continue }
      $v = $entry.Value
      if ($v -is [enum]) { $v = $v.ToString() }
      $settings[$entry.Key] = $v
    }
    if ($setName -eq 'DnsSrvRouting') {
      $settings['RoutingMethod'] = 'UseDnsSrvRouting'
      $settings['DefaultRouteFqdn'] = $null
    }
    elseif ($setName -eq 'DefaultRoute') { $settings['RoutingMethod'] = 'UseDefaultRouting' }
    return $true
  }
}

# --- hosting providers ---------------------------------------------------------------------------------------------

function Get-CsHostingProvider {
  [CmdletBinding(DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(ParameterSetName = 'Identity', Position = 0)][string]$Identity,
    [Parameter(ParameterSetName = 'Filter')][string]$Filter,
    [switch]$LocalStore
  )
  try {
    $view = Get-LxSimCmsView 'Get-CsHostingProvider' $LocalStore.IsPresent
    if ($null -eq $view.Cms) { return }
    $pattern = $null
    if ($PSBoundParameters.ContainsKey('Filter')) { $pattern = [System.Management.Automation.WildcardPattern]::new($Filter, 'IgnoreCase') }
    foreach ($p in (Get-LxSimList $view.Cms['hostingProviders'])) {
      $id = [string]$p.Identity
      # -Identity is an exact (case-insensitive) match, never a wildcard: names may contain * or [.
      if ($PSBoundParameters.ContainsKey('Identity') -and -not [string]::Equals($id, $Identity, $script:IgnoreCase)) { continue }
      if ($null -ne $pattern -and -not $pattern.IsMatch($id)) { continue }
      ConvertTo-LxSimProvider $p
    }
  }
  catch { $PSCmdlet.ThrowTerminatingError($_) }
}

function New-CsHostingProvider {
  # Two parameter sets as in the Lync 2013 docs: EnabledSharedAddressSpace and HostsOCSUsers come together or not at
  # all. Fails on an existing Identity and on a ProxyFqdn another provider owns. Writes nothing to the pipeline.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Direct')]
  param(
    [Parameter(Mandatory, Position = 0)][ValidateNotNullOrEmpty()][string]$Identity,
    [Parameter(Mandatory)][bool]$Enabled,
    [Parameter(Mandatory)][ValidateNotNullOrEmpty()][string]$ProxyFqdn,
    [Parameter(Mandatory, ParameterSetName = 'SharedAddressSpace')][bool]$EnabledSharedAddressSpace,
    [Parameter(Mandatory, ParameterSetName = 'SharedAddressSpace')][bool]$HostsOCSUsers,
    [bool]$IsLocal = $false,
    [VerificationLevelType]$VerificationLevel = [VerificationLevelType]::AlwaysVerifiable,
    [string]$AutodiscoverUrl,
    [uint64]$SipClientPort = 443,
    [switch]$Force
  )
  if (-not $PSCmdlet.ShouldProcess($Identity, 'New-CsHostingProvider')) { return }
  $url = $null
  if ($PSBoundParameters.ContainsKey('AutodiscoverUrl')) { $url = $AutodiscoverUrl }
  $provider = [ordered]@{
    Identity = $Identity; ProxyFqdn = $ProxyFqdn; VerificationLevel = $VerificationLevel.ToString(); Enabled = $Enabled
    EnabledSharedAddressSpace = $false; HostsOCSUsers = $false; IsLocal = $IsLocal; AutodiscoverUrl = $url; SipClientPort = $SipClientPort
  }
  if ($PSCmdlet.ParameterSetName -eq 'SharedAddressSpace') {
    $provider.EnabledSharedAddressSpace = $EnabledSharedAddressSpace
    $provider.HostsOCSUsers = $HostsOCSUsers
  }
  Invoke-LxSimWrite $PSCmdlet 'New-CsHostingProvider' $PSBoundParameters {
    param($State)
    $providers = Get-LxSimList $State['cms']['hostingProviders']
    foreach ($p in $providers) {
      if ([string]::Equals([string]$p.Identity, $Identity, $script:IgnoreCase)) {
        throw (New-LxSimError "A hosting provider with Identity `"$([string]$p.Identity)`" already exists." 'ProviderIdentityExists' ResourceExists $Identity)
      }
      if ([string]::Equals([string]$p.ProxyFqdn, $ProxyFqdn, $script:IgnoreCase)) {
        throw (New-LxSimError ("The ProxyFqdn `"$ProxyFqdn`" is already used by the hosting provider `"$([string]$p.Identity)`": " +
            'a ProxyFqdn must be unique across hosting and public providers.') 'ProxyFqdnInUse' InvalidOperation $ProxyFqdn)
      }
    }
    $providers.Add($provider)
    $State['cms']['hostingProviders'] = $providers
    return $true
  }
}

function Set-CsHostingProvider {
  # No -ProxyFqdn: it cannot change in place (remove and recreate). Returns nothing.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$Identity,
    [bool]$Enabled,
    [bool]$EnabledSharedAddressSpace,
    [bool]$HostsOCSUsers,
    [bool]$IsLocal,
    [VerificationLevelType]$VerificationLevel,
    [AllowNull()][AllowEmptyString()][string]$AutodiscoverUrl,
    [uint64]$SipClientPort,
    [switch]$Force
  )
  process {
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Set-CsHostingProvider')) { return }
    $bound = $PSBoundParameters
    Invoke-LxSimWrite $PSCmdlet 'Set-CsHostingProvider' $bound {
      param($State)
      $p = Get-LxSimProviderOrFail $State $Identity
      foreach ($name in @('Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'VerificationLevel', 'AutodiscoverUrl', 'SipClientPort')) {
        if (-not $bound.ContainsKey($name)) { continue }
        $v = $bound[$name]
        if ($v -is [enum]) { $v = $v.ToString() }
        if ($name -eq 'AutodiscoverUrl' -and [string]::IsNullOrEmpty($v)) { $v = $null }
        $p[$name] = $v
      }
      return $true
    }
  }
}

function Remove-CsHostingProvider {
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$Identity,
    [switch]$Force
  )
  process {
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Remove-CsHostingProvider')) { return }
    Invoke-LxSimWrite $PSCmdlet 'Remove-CsHostingProvider' $PSBoundParameters {
      param($State)
      $providers = Get-LxSimList $State['cms']['hostingProviders']
      $i = Find-LxSimProvider $providers $Identity
      if ($i -lt 0) {
        throw (New-LxSimError "Cannot find a hosting provider with Identity `"$Identity`"." 'ProviderNotFound' ObjectNotFound $Identity)
      }
      $providers.RemoveAt($i)
      $State['cms']['hostingProviders'] = $providers
      return $true
    }
  }
}

function Enable-CsHostingProvider {
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$Identity,
    [switch]$Force
  )
  process {
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Enable-CsHostingProvider')) { return }
    Invoke-LxSimWrite $PSCmdlet 'Enable-CsHostingProvider' $PSBoundParameters {
      param($State)
      $p = Get-LxSimProviderOrFail $State $Identity
      $p['Enabled'] = $true
      return $true
    }
  }
}

function Disable-CsHostingProvider {
  # Lync 2013 documents an error when the provider is already disabled.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$Identity,
    [switch]$Force
  )
  process {
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Disable-CsHostingProvider')) { return }
    Invoke-LxSimWrite $PSCmdlet 'Disable-CsHostingProvider' $PSBoundParameters {
      param($State)
      $p = Get-LxSimProviderOrFail $State $Identity
      if (-not [bool]$p['Enabled']) {
        throw (New-LxSimError "The hosting provider `"$([string]$p['Identity'])`" is already disabled." 'ProviderAlreadyDisabled' InvalidOperation $Identity)
      }
      $p['Enabled'] = $false
      return $true
    }
  }
}

# --- replication ---------------------------------------------------------------------------------------------------

function Get-CsManagementStoreReplicationStatus {
  [CmdletBinding(DefaultParameterSetName = 'Replicas')]
  param(
    [Parameter(ParameterSetName = 'Replicas', Position = 0, ValueFromPipelineByPropertyName)][string]$ReplicaFqdn,
    [Parameter(Mandatory, ParameterSetName = 'Cms')][switch]$CentralManagementStoreStatus
  )
  try {
    $view = Get-LxSimCmsView 'Get-CsManagementStoreReplicationStatus' $false
    $replicas = (Get-LxSimList $view.State['replicas'])
    if ($CentralManagementStoreStatus) {
      # The CMS lives on the first Front End; its pool is both Active Master and File Transfer Agent.
      $master = $null
      foreach ($r in $replicas) { if ([string]$r.role -eq 'FrontEnd') { $master = [string]$r.fqdn; break } }
      $active = [System.Collections.Generic.List[string]]::new()
      foreach ($r in $replicas) { $active.Add([string]$r.fqdn) }
      $agents = [string[]]@()
      if ($null -ne $master) { $agents = [string[]]@($master) }
      return [pscustomobject][ordered]@{
        ActiveMasterFqdn = $master
        ActiveFileTransferAgents = $agents
        ActiveReplicas = $active.ToArray()
        DeletedReplicas = [string[]]@()
      }
    }
    $now = [DateTime]::UtcNow
    foreach ($r in $replicas) {
      if ($PSBoundParameters.ContainsKey('ReplicaFqdn') -and -not [string]::Equals([string]$r.fqdn, $ReplicaFqdn, $script:IgnoreCase)) { continue }
      $rv = Get-LxSimReplicaView $view.State $r $now
      [pscustomobject][ordered]@{
        UpToDate = [bool]$rv.UpToDate
        ReplicaFqdn = [string]$r.fqdn
        LastStatusReport = $rv.LastStatusReport
        LastUpdateCreation = $rv.LastUpdateCreation
        ProductVersion = $rv.ProductVersion
      }
    }
  }
  catch { $PSCmdlet.ThrowTerminatingError($_) }
}

function Invoke-CsManagementStoreReplication {
  # Forces a full replication: deletes the targets' status, so they read UpToDate=False until they report back
  # (after their lag). Without -ReplicaFqdn, every replica. Returns nothing.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Position = 0, ValueFromPipelineByPropertyName)][string]$ReplicaFqdn,
    [switch]$Force
  )
  process {
    $target = 'all replicas'
    if ($PSBoundParameters.ContainsKey('ReplicaFqdn')) { $target = $ReplicaFqdn }
    if (-not $PSCmdlet.ShouldProcess($target, 'Invoke-CsManagementStoreReplication')) { return }
    $bound = $PSBoundParameters
    Invoke-LxSimWrite $PSCmdlet 'Invoke-CsManagementStoreReplication' $bound {
      param($State)
      $now = Format-LxSimDate ([DateTime]::UtcNow)
      $hit = $false
      foreach ($r in (Get-LxSimList $State['replicas'])) {
        if ($bound.ContainsKey('ReplicaFqdn') -and -not [string]::Equals([string]$r.fqdn, $ReplicaFqdn, $script:IgnoreCase)) { continue }
        $r['forcedAt'] = $now
        $hit = $true
      }
      if (-not $hit) {
        throw (New-LxSimError "Cannot find a replica with the fully qualified domain name `"$ReplicaFqdn`"." 'ReplicaNotFound' ObjectNotFound $ReplicaFqdn)
      }
      return $false
    }
  }
}

# --- hosted voice mail (read by the rollback's warning) ---------------------------------------------------------------

function Get-CsHostedVoicemailPolicy {
  [CmdletBinding(DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(ParameterSetName = 'Identity', Position = 0)][string]$Identity,
    [Parameter(ParameterSetName = 'Filter')][string]$Filter,
    [switch]$LocalStore
  )
  try {
    $view = Get-LxSimCmsView 'Get-CsHostedVoicemailPolicy' $LocalStore.IsPresent
    if ($null -eq $view.Cms) { return }
    $pattern = $null
    if ($PSBoundParameters.ContainsKey('Filter')) { $pattern = [System.Management.Automation.WildcardPattern]::new($Filter, 'IgnoreCase') }
    $policies = $null
    if ($view.Cms.Contains('hostedVoicemailPolicies')) { $policies = $view.Cms['hostedVoicemailPolicies'] }
    foreach ($p in (Get-LxSimList $policies)) {
      $id = [string]$p.Identity
      if ($PSBoundParameters.ContainsKey('Identity') -and -not [string]::Equals($id, $Identity, $script:IgnoreCase)) { continue }
      if ($null -ne $pattern -and -not $pattern.IsMatch($id)) { continue }
      [pscustomobject][ordered]@{ Identity = $id; Description = $p['Description']; Destination = $p['Destination']; Organization = $p['Organization'] }
    }
  }
  catch { $PSCmdlet.ThrowTerminatingError($_) }
}

Export-ModuleMember -Function Get-CsAccessEdgeConfiguration, Set-CsAccessEdgeConfiguration, Get-CsHostingProvider,
  New-CsHostingProvider, Set-CsHostingProvider, Remove-CsHostingProvider, Enable-CsHostingProvider, Disable-CsHostingProvider,
  Get-CsManagementStoreReplicationStatus, Invoke-CsManagementStoreReplication, Get-CsHostedVoicemailPolicy
