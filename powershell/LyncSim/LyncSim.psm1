# LyncSim: the Lync Server 2013 / Skype for Business Server cmdlets that lync-exo uses, simulated over a JSON file,
# with Microsoft's parameter names, types, mandatory parameters and output property names and order
# (shared/reference/lync-cmdlets.md, sections 3-5 and 9).
#
# Runs on Windows PowerShell 5.1 and on PowerShell 7: only the language (classes included), the core cmdlets both
# have and .NET (no ternary, ??, ?. or && / ||).
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
#   snapshotDelaySeconds    seconds after a write before the master replicator snapshots it (default 1, at most the
#                           lag): until then replicas still report UpToDate=True for the update before
#   now                     ISO 8601 or null: LyncSim's clock when a test pins it, else the system clock
#   dateKind                Unspecified (default) | Local | Utc: the DateTimeKind of the replica dates, which are the
#                           host's local wall-clock time unless Utc
#   objects                 absent or typed: objects shaped like the module's; plain: flat objects, string Identity
#   cms.accessEdge          the global Access Edge settings: the 19 documented properties (defaults of §3.1, the
#                           order of the Lync 2013 sample) + DiscoveredPartnerVerificationLevel, DnsSrvCacheRecordCount,
#                           SkypeSearchUrl, DefaultRouteFqdn, IsPublicProvider, VerificationLevel
#   cms.hostingProviders    [ { Identity, ProxyFqdn, VerificationLevel (name), Enabled, EnabledSharedAddressSpace,
#                           HostsOCSUsers, IsLocal, AutodiscoverUrl, SipClientPort } ] in creation order
#   cms.publicProviders     [ { Identity, ProxyFqdn, VerificationLevel, Enabled, IconUrl } ]: Messenger, Yahoo and AOL,
#                           not enabled, as Lync ships (read-only here)
#   cms.hostedVoicemailPolicies  [ { Identity, Description, Destination, Organization } ] (read-only here)
#   history                 [ { seq, at (ISO 8601 UTC), cms (a full copy) } ]: one entry per successful CMS write;
#                           seq 1 is the starting deployment, dated a day back so every replica starts up to date
#   replicas                [ { fqdn, role (FrontEnd|Edge|TrustedApplicationPool|...), productVersion, lagSeconds
#                           (null = global), stuck, stuckAtSeq (null = 1), forcedAt (ISO, set by
#                           Invoke-CsManagementStoreReplication), reports (false: never reports) } ]; the default
#                           deployment has fe01, edge01 and trustedapp01, a pool that never reports
#   faults.hang             cmdlet names that never return (a Thread.Sleep loop, holding no lock)
#   faults.fail             { cmdlet name: message }: that cmdlet fails with InjectedFault
#   calls                   [ { at, host, cmdlet, parameters, outcome (ok|error|hang), errorId } ]: every call of a
#                           state-changing cmdlet that got past parameter binding (not -WhatIf), so tests can count
#
# Replication model: a replica sees the newest history entry at least its lag old (a stuck one never beyond
# stuckAtSeq). UpToDate = it sees the latest entry the master has snapshotted (one at least snapshotDelaySeconds
# old) and no forced replication is pending (forcedAt + lag in the future; a stuck replica never completes one).
# LastUpdateCreation = the snapshot's time (write + delay). A replica that never reports is never up to date and
# has no dates, version or local store. -LocalStore answers from the snapshot the host's replica sees.
#
# Errors: FullyQualifiedErrorId <reason>,Microsoft.Rtc.Management.Internal.<Verb><Noun>Cmdlet as the real module's
# (the reasons and texts are LyncSim's: the real ones are not documented); PowerShell's own binding errors keep
# <id>,<function name>, since these are script functions.
#
# Decisions where the documentation is silent: Identity and ProxyFqdn compare case-insensitively (ordinal) but are
# stored and returned byte for byte; Get-CsHostingProvider -Identity of a missing provider returns nothing (as -Filter
# does); Get-CsManagementStoreReplicationStatus -ReplicaFqdn of an unknown replica returns nothing; New-CsHostingProvider
# writes nothing to the pipeline (with -InMemory: the new object, saved by Set-CsHostingProvider -Instance);
# ConfirmImpact is Medium everywhere, so nothing prompts unless -Confirm is passed.

Set-StrictMode -Version 2.0

. ([System.IO.Path]::Combine($PSScriptRoot, '..', 'LxJson.ps1'))

enum VerificationLevelType {
  AlwaysVerifiable
  AlwaysUnverifiable
  UseSourceVerification
}

# --- the module's object model ---------------------------------------------------------------------------------------
# Shaped like Microsoft.Rtc.Management's: an Identity is an object whose string form is the identity; the display
# objects carry heavy members the documentation does not list (Element, a real XmlElement in a document of its own;
# XsAnyElements, XsAnyAttributes; Anchor), which a serializer follows into megabytes unless it projects. PowerShell
# classes cannot have namespaces, so the type names are the real ones without theirs.

class XdsIdentity {
  # Microsoft.Rtc.Management.Xds.XdsIdentity: a scope (Global, Site, Service, Tag) and a name; shown as its text.
  [string]$ScopeClass
  [string]$SiteId
  [string]$ServiceId
  [string]$Name
  [guid]$InstanceId
  hidden [string]$Text
  XdsIdentity([string]$Text) {
    $this.Text = $Text
    $this.ScopeClass = 'Global'
    $this.Name = ''
    $this.InstanceId = [guid]::NewGuid()
  }
  [string] ToString() { return $this.Text }
}

class XdsGlobalRelativeIdentity {
  # Microsoft.Rtc.Management.Xds.XdsGlobalRelativeIdentity: a name relative to the global scope (a provider's).
  [string]$ScopeClass
  [string]$Name
  [guid]$InstanceId
  XdsGlobalRelativeIdentity([string]$Name) {
    $this.ScopeClass = 'Global'
    $this.Name = $Name
    $this.InstanceId = [guid]::NewGuid()
  }
  [string] ToString() { return $this.Name }
}

class XdsAnchor {
  # The store object an item was read from: it points back at the item's XML (a cycle through the document).
  [XdsGlobalRelativeIdentity]$Identity
  [System.Xml.XmlElement]$Element
  [string]$Document
}

class DisplayHostingProvider {
  # Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayHostingProvider, in the order of Microsoft's mocks.
  [XdsGlobalRelativeIdentity]$Identity
  [string]$Name
  [string]$ProxyFqdn
  [VerificationLevelType]$VerificationLevel
  [bool]$Enabled
  [bool]$EnabledSharedAddressSpace
  [bool]$HostsOCSUsers
  [bool]$IsLocal
  [string]$AutodiscoverUrl
  [uint64]$SipClientPort
  [System.Xml.XmlElement]$Element
  [System.Collections.Generic.List[System.Xml.XmlElement]]$XsAnyElements
  [System.Collections.Generic.List[System.Xml.XmlAttribute]]$XsAnyAttributes
  [XdsAnchor]$Anchor
}

class DisplayPublicProvider {
  # Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayPublicProvider
  [XdsGlobalRelativeIdentity]$Identity
  [string]$Name
  [string]$ProxyFqdn
  [string]$IconUrl
  [VerificationLevelType]$VerificationLevel
  [bool]$Enabled
  [System.Xml.XmlElement]$Element
  [System.Collections.Generic.List[System.Xml.XmlElement]]$XsAnyElements
  [System.Collections.Generic.List[System.Xml.XmlAttribute]]$XsAnyAttributes
  [XdsAnchor]$Anchor
}

class ReplicaState {
  # Microsoft.Rtc.Management.Xds.ReplicaState: dates are $null until the replica has reported.
  [bool]$UpToDate
  [string]$ReplicaFqdn
  [Nullable[DateTime]]$LastStatusReport
  [Nullable[DateTime]]$LastUpdateCreation
  [string]$ProductVersion
}

class CentralManagementStoreStatusResult {
  # Microsoft.Rtc.Management.Xds.CentralManagementStoreStatusResult (-CentralManagementStoreStatus)
  [string]$ActiveMasterFqdn
  [string[]]$ActiveFileTransferAgents
  [string[]]$ActiveReplicas
  [string[]]$DeletedReplicas
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
  # A terminating ErrorRecord with a real category and a LyncSim.<reason> id; Stop-LxSim gives it the real module's
  # form, <reason>,Microsoft.Rtc.Management.Internal.<Verb><Noun>Cmdlet, when the cmdlet throws it.
  param([string]$Message, [string]$ErrorId, [System.Management.Automation.ErrorCategory]$Category, [object]$Target)
  if ($Category -eq [System.Management.Automation.ErrorCategory]::ObjectNotFound) {
    $ex = [System.Management.Automation.ItemNotFoundException]::new($Message)
  }
  else { $ex = [System.InvalidOperationException]::new($Message) }
  return [System.Management.Automation.ErrorRecord]::new($ex, "LyncSim.$ErrorId", $Category, $Target)
}

function Get-LxSimCmdletClass {
  # The class that implements a Lync cmdlet: New-CsHostingProvider -> Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet
  # (the pattern of real ids such as ParameterBindingFailed,Microsoft.Rtc.Management.Internal.NewPartnerApplicationCmdlet).
  param([string]$Name)
  $parts = $Name.Split([char]'-')
  $noun = $parts[1]
  if ($noun.StartsWith('Cs')) { $noun = $noun.Substring(2) }
  return 'Microsoft.Rtc.Management.Internal.' + $parts[0] + $noun + 'Cmdlet'
}

function Get-LxSimErrorId {
  # The FullyQualifiedErrorId the caller sees for an error raised inside a LyncSim cmdlet.
  param([System.Management.Automation.ErrorRecord]$Record, [string]$Name)
  $id = [string]$Record.FullyQualifiedErrorId
  if ($id.StartsWith('LyncSim.')) { return $id.Substring(8) + ',' + (Get-LxSimCmdletClass $Name) }
  return $id + ',' + $Name
}

function Stop-LxSim {
  # Ends a cmdlet with an error. LyncSim's own errors get the real module's id (ending in the cmdlet's class name,
  # which ThrowTerminatingError of a script function cannot give: it appends the function name); PowerShell's own
  # errors (parameter binding, .NET exceptions) go out as ThrowTerminatingError makes them.
  param([System.Management.Automation.PSCmdlet]$Cmdlet, [System.Management.Automation.ErrorRecord]$Record)
  $name = $Cmdlet.MyInvocation.MyCommand.Name
  if (-not ([string]$Record.FullyQualifiedErrorId).StartsWith('LyncSim.')) { $Cmdlet.ThrowTerminatingError($Record) }
  $out = [System.Management.Automation.ErrorRecord]::new($Record.Exception, (Get-LxSimErrorId $Record $name), $Record.CategoryInfo.Category, $Record.TargetObject)
  $out.CategoryInfo.Activity = $name
  throw $out
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

function Get-LxSimNow {
  # The simulator's clock: the state's "now" when a test pins it (deterministic timing), else the system clock.
  param([AllowNull()][System.Collections.IDictionary]$State)
  if ($null -ne $State -and $State.Contains('now') -and $null -ne $State['now']) { return (ConvertTo-LxSimDate $State['now']) }
  return [DateTime]::UtcNow
}

function ConvertTo-LxSimOutputDate {
  # A replica's time as the module gives it: the host's local wall-clock time, of kind Unspecified (the default,
  # as a value read back from SQL Server) or Local; Utc only when the state says so.
  param([AllowNull()][object]$Utc, [System.Collections.IDictionary]$State)
  if ($null -eq $Utc) { return $null }
  $kind = 'Unspecified'
  if ($State.Contains('dateKind') -and $null -ne $State['dateKind']) { $kind = [string]$State['dateKind'] }
  if ($kind -eq 'Utc') { return [DateTime]::SpecifyKind([DateTime]$Utc, [System.DateTimeKind]::Utc) }
  $local = ([DateTime]$Utc).ToLocalTime()
  if ($kind -eq 'Local') { return $local }
  return [DateTime]::SpecifyKind($local, [System.DateTimeKind]::Unspecified)
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
  $public = {
    param($Id, $Fqdn)
    [ordered]@{ Identity = $Id; ProxyFqdn = $Fqdn; VerificationLevel = 'AlwaysVerifiable'; Enabled = $false; IconUrl = $null }
  }
  $cms = [ordered]@{
    accessEdge = $accessEdge
    hostingProviders = @()
    # Lync Server 2013 ships with three public providers, configured but not enabled (Get-CsPublicProvider docs)
    publicProviders = @((& $public 'Messenger' 'federation.messenger.msn.com'), (& $public 'Yahoo' 'lcsap.messenger.yahoo.net'), (& $public 'AOL' 'sip.oscar.aol.com'))
    hostedVoicemailPolicies = @([ordered]@{ Identity = 'Global'; Description = $null; Destination = $null; Organization = $null })
  }
  $replica = {
    param($Fqdn, $Role, $Reports)
    [ordered]@{ fqdn = $Fqdn; role = $Role; productVersion = '5.0.8308.0'; lagSeconds = $null; stuck = $false; stuckAtSeq = $null; forcedAt = $null; reports = $Reports }
  }
  return [ordered]@{
    version = 1
    replicationLagSeconds = 5
    snapshotDelaySeconds = 1
    now = $null
    dateKind = 'Unspecified'
    cms = $cms
    history = @([ordered]@{ seq = 1; at = (Format-LxSimDate ([DateTime]::UtcNow.AddDays(-1))); cms = (Copy-LxSimValue $cms) })
    # a trusted application pool that requires replication but has no local store: it never reports (a real sight)
    replicas = @((& $replica 'fe01.contoso.local' 'FrontEnd' $true), (& $replica 'edge01.contoso.local' 'Edge' $true),
      (& $replica 'trustedapp01.contoso.local' 'TrustedApplicationPool' $false))
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
  # The master replicator snapshots a write only snapshotDelaySeconds after it: until then every replica still
  # reports UpToDate=True with the LastUpdateCreation of the update before (what a bot must not take for done).
  param([System.Collections.IDictionary]$State, [System.Collections.IDictionary]$Replica, [DateTime]$Now)
  $history = Get-LxSimList $State['history']
  $lag = [double]$State['replicationLagSeconds']
  if ($null -ne $Replica['lagSeconds']) { $lag = [double]$Replica['lagSeconds'] }
  $delay = [double]1
  if ($State.Contains('snapshotDelaySeconds') -and $null -ne $State['snapshotDelaySeconds']) { $delay = [double]$State['snapshotDelaySeconds'] }
  if ($delay -gt $lag) { $delay = $lag }
  $cutoff = $Now.AddSeconds(-$lag)
  $known = $Now.AddSeconds(-$delay)
  $stuck = [bool]$Replica['stuck']
  $stuckAt = [long]1
  if ($null -ne $Replica['stuckAtSeq']) { $stuckAt = [long]$Replica['stuckAtSeq'] }
  $reports = -not ($Replica.Contains('reports') -and $Replica['reports'] -eq $false)
  $latest = $null
  $seen = $null
  foreach ($h in $history) {
    $at = ConvertTo-LxSimDate $h.at
    # the latest update the master has snapshotted (the first entry always counts)
    if (($at -le $known -or $null -eq $latest) -and ($null -eq $latest -or [long]$h.seq -gt [long]$latest.seq)) { $latest = $h }
    if ($at -gt $cutoff) { continue }
    if ($stuck -and [long]$h.seq -gt $stuckAt) { continue }
    if ($null -eq $seen -or [long]$h.seq -gt [long]$seen.seq) { $seen = $h }
  }
  if (-not $reports) {
    # never reported: no local store, no report, no version, never up to date
    return [pscustomobject]@{ Seen = $null; UpToDate = $false; LastStatusReport = $null; LastUpdateCreation = $null; ProductVersion = $null; Reports = $false }
  }
  $forcedAt = ConvertTo-LxSimDate $Replica['forcedAt']
  $forcedPending = $false
  if ($null -ne $forcedAt) { $forcedPending = $stuck -or $forcedAt.AddSeconds($lag) -gt $Now }
  $upToDate = $null -ne $seen -and $null -ne $latest -and [long]$seen.seq -ge [long]$latest.seq -and -not $forcedPending
  # A working replica reports all the time; a stuck one last reported when it took its last update; a forced full
  # replication deletes the status until the replica reports again. LastUpdateCreation is when the master created
  # the snapshot the replica holds (the write plus the snapshot delay).
  $lastReport = $null
  $lastUpdate = $null
  $version = $null
  if ($null -ne $seen) {
    $lastUpdate = (ConvertTo-LxSimDate $seen.at).AddSeconds($delay)
    $version = [string]$Replica['productVersion']
    if ($stuck) { $lastReport = $lastUpdate.AddSeconds($lag - $delay) } else { $lastReport = $Now }
  }
  if ($forcedPending) { $lastReport = $null }
  return [pscustomobject]@{ Seen = $seen; UpToDate = $upToDate; LastStatusReport = $lastReport; LastUpdateCreation = $lastUpdate; ProductVersion = $version; Reports = $true }
}

function Remove-LxSimUnneededHistory {
  # A replica only ever moves forward, so snapshots older than the oldest one any replica sees now are never read
  # again. Dropping them keeps the state file, and so every call, small however many changes a session makes.
  # Replicas that never report hold nothing and keep nothing alive.
  param([System.Collections.IDictionary]$State, [DateTime]$Now)
  $keepFrom = [long]::MaxValue
  foreach ($r in (Get-LxSimList $State['replicas'])) {
    $view = Get-LxSimReplicaView $State $r $Now
    if (-not $view.Reports) { continue }
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
    $view = Get-LxSimReplicaView $state $simHost.Replica (Get-LxSimNow $state)
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
    $now = Get-LxSimNow $state
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
        # as the caller will see it (Stop-LxSim)
        $call.errorId = Get-LxSimErrorId $_ $Name
      }
    }
    $calls = Get-LxSimList $state['calls']
    $calls.Add($call)
    $state['calls'] = $calls
    Write-LxSimState $path $state
  }
  finally { $lock.Dispose() }
  if ($hang) { Wait-LxSimForever }
  if ($null -ne $failure) { Stop-LxSim $Cmdlet $failure }
}

# --- output shapes ---------------------------------------------------------------------------------------------------

function New-LxSimXml {
  # The item as the store keeps it: an element in an XML document of its own, with one attribute per setting.
  param([string]$Tag, [System.Collections.IDictionary]$Values)
  $doc = [System.Xml.XmlDocument]::new()
  $el = $doc.CreateElement($Tag, 'urn:schema:Microsoft.Rtc.Management.Settings.Edge.2008')
  foreach ($entry in $Values.GetEnumerator()) {
    if ($null -eq $entry.Value) { continue }
    [void]$el.SetAttribute([string]$entry.Key, [string]$entry.Value)
    # and as child elements, as the store's documents nest them: what makes a member-following serializer explode
    $child = $doc.CreateElement([string]$entry.Key, $el.NamespaceURI)
    $child.InnerText = [string]$entry.Value
    [void]$el.AppendChild($child)
  }
  [void]$doc.AppendChild($el)
  return $el
}

function Add-LxSimHeavyMembers {
  # Element, XsAnyElements, XsAnyAttributes and Anchor on a display object.
  param([object]$Item, [string]$Tag, [System.Collections.IDictionary]$Values)
  $el = New-LxSimXml $Tag $Values
  $Item.Element = $el
  $Item.XsAnyElements = [System.Collections.Generic.List[System.Xml.XmlElement]]::new()
  $Item.XsAnyElements.Add($el.OwnerDocument.CreateElement('Extension', 'urn:schema:Microsoft.Rtc.Management.Settings.Edge.2008'))
  $Item.XsAnyAttributes = [System.Collections.Generic.List[System.Xml.XmlAttribute]]::new()
  $anchor = [XdsAnchor]::new()
  $anchor.Element = $el
  $anchor.Document = 'urn:xds:Microsoft.Rtc.Management.Settings.Edge.2008:' + $Tag
  if ($Item.PSObject.Properties['Identity'].Value -is [XdsGlobalRelativeIdentity]) { $anchor.Identity = $Item.Identity }
  $Item.Anchor = $anchor
}

function Test-LxSimPlainObjects {
  # objects: "plain" in the state gives the flat objects of earlier LyncSim versions (strings, no heavy members).
  param([System.Collections.IDictionary]$State)
  return $null -ne $State -and $State.Contains('objects') -and [string]$State['objects'] -eq 'plain'
}

function ConvertTo-LxSimProvider {
  # DisplayHostingProvider, in the property order of Microsoft's mocks; Name is the Identity.
  param([System.Collections.IDictionary]$P, [System.Collections.IDictionary]$State)
  $url = $null
  if ($null -ne $P['AutodiscoverUrl']) { $url = [string]$P['AutodiscoverUrl'] }
  $port = [uint64]443
  if ($null -ne $P['SipClientPort']) { $port = [uint64]$P['SipClientPort'] }
  if (Test-LxSimPlainObjects $State) {
    return [pscustomobject][ordered]@{
      Identity = [string]$P['Identity']; Name = [string]$P['Identity']; ProxyFqdn = [string]$P['ProxyFqdn']
      VerificationLevel = [VerificationLevelType][string]$P['VerificationLevel']; Enabled = [bool]$P['Enabled']
      EnabledSharedAddressSpace = [bool]$P['EnabledSharedAddressSpace']; HostsOCSUsers = [bool]$P['HostsOCSUsers']
      IsLocal = [bool]$P['IsLocal']; AutodiscoverUrl = $url; SipClientPort = $port
    }
  }
  $o = [DisplayHostingProvider]::new()
  $o.Identity = [XdsGlobalRelativeIdentity]::new([string]$P['Identity'])
  $o.Name = [string]$P['Identity']
  $o.ProxyFqdn = [string]$P['ProxyFqdn']
  $o.VerificationLevel = [VerificationLevelType][string]$P['VerificationLevel']
  $o.Enabled = [bool]$P['Enabled']
  $o.EnabledSharedAddressSpace = [bool]$P['EnabledSharedAddressSpace']
  $o.HostsOCSUsers = [bool]$P['HostsOCSUsers']
  $o.IsLocal = [bool]$P['IsLocal']
  # a class's [string] member turns an assigned $null into "": assign only a value
  if ($null -ne $url) { $o.AutodiscoverUrl = $url }
  $o.SipClientPort = $port
  Add-LxSimHeavyMembers $o 'HostingProvider' $P
  return $o
}

function ConvertTo-LxSimPublicProvider {
  param([System.Collections.IDictionary]$P, [System.Collections.IDictionary]$State)
  $o = [DisplayPublicProvider]::new()
  $o.Identity = [XdsGlobalRelativeIdentity]::new([string]$P['Identity'])
  $o.Name = [string]$P['Identity']
  $o.ProxyFqdn = [string]$P['ProxyFqdn']
  if ($null -ne $P['IconUrl']) { $o.IconUrl = [string]$P['IconUrl'] }
  $o.VerificationLevel = [VerificationLevelType][string]$P['VerificationLevel']
  $o.Enabled = [bool]$P['Enabled']
  Add-LxSimHeavyMembers $o 'PublicProvider' $P
  return $o
}

function ConvertTo-LxSimAccessEdge {
  # DisplayAccessEdgeSettingsDnsSrvRouting or ...DefaultRoute: default routing shows DefaultRouteFqdn,
  # IsPublicProvider and VerificationLevel where DNS SRV routing shows BeClearingHouse and EnablePartnerDiscovery.
  # The Identity is an XdsIdentity (shown as Global), with the heavy members after the documented ones.
  param([System.Collections.IDictionary]$Settings, [System.Collections.IDictionary]$State)
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
  if (Test-LxSimPlainObjects $State) { return [pscustomobject]$out }
  $out['Identity'] = [XdsIdentity]::new([string]$Settings['Identity'])
  $el = New-LxSimXml 'AccessEdgeConfiguration' $Settings
  $anchor = [XdsAnchor]::new()
  $anchor.Element = $el
  $anchor.Document = 'urn:xds:Microsoft.Rtc.Management.Settings.Edge.2008:AccessEdgeConfiguration'
  $xsElements = [System.Collections.Generic.List[System.Xml.XmlElement]]::new()
  $xsElements.Add($el.OwnerDocument.CreateElement('Extension', 'urn:schema:Microsoft.Rtc.Management.Settings.Edge.2008'))
  $out['Element'] = $el
  $out['XsAnyElements'] = $xsElements
  $out['XsAnyAttributes'] = [System.Collections.Generic.List[System.Xml.XmlAttribute]]::new()
  $out['Anchor'] = $anchor
  $o = [pscustomobject]$out
  $typeName = 'Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayAccessEdgeSettingsDnsSrvRouting'
  if ($defaultRoute) { $typeName = 'Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayAccessEdgeSettingsDefaultRoute' }
  $o.PSObject.TypeNames.Insert(0, $typeName)
  return $o
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
    ConvertTo-LxSimAccessEdge $settings $view.State
  }
  catch { Stop-LxSim $PSCmdlet $_ }
}

function Set-CsAccessEdgeConfiguration {
  # Parameter sets as documented: Identity (-Identity and the common settings), Instance (only -Instance, a
  # modified object from Get-), DnsSrvRouting (the settings, -UseDnsSrvRouting, -EnablePartnerDiscovery,
  # -BeClearingHouse, ...) and DefaultRoute (the settings, -UseDefaultRouting, -DefaultRouteFqdn, ...), no
  # parameter mandatory. Switching to default routing needs a DefaultRouteFqdn and no
  # hosting or public providers. Returns nothing.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(ParameterSetName = 'Identity', Position = 0)][string]$Identity = 'Global',
    [Parameter(Mandatory, ParameterSetName = 'Instance', ValueFromPipeline)][psobject]$Instance,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$AllowAnonymousUsers,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$AllowFederatedUsers,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$AllowOutsideUsers,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$EnableArchivingDisclaimer,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$KeepCrlsUpToDateForPeers,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$MarkSourceVerifiableOnOutgoingMessages,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$EnableDiscoveredPartnerContactsLimit,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][bool]$EnableUserReplicator,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][ValidateRange(1, 4)][uint32]$OutgoingTlsCountForFederatedPartners,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$CertificatesDeletedPercentage,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$DiscoveredPartnerReportPeriodMinutes,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$DiscoveredPartnerStandardRate,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$MaxAcceptedCertificatesStored,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$MaxContactsPerDiscoveredPartner,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$MaxRejectedCertificatesStored,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][uint32]$DnsSrvCacheRecordCount,
    [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'DnsSrvRouting')][Parameter(ParameterSetName = 'DefaultRoute')][string]$SkypeSearchUrl,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][switch]$UseDnsSrvRouting,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][bool]$EnablePartnerDiscovery,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][bool]$BeClearingHouse,
    [Parameter(ParameterSetName = 'DnsSrvRouting')][VerificationLevelType]$DiscoveredPartnerVerificationLevel,
    [Parameter(ParameterSetName = 'DefaultRoute')][switch]$UseDefaultRouting,
    [Parameter(ParameterSetName = 'DefaultRoute')][ValidateNotNullOrEmpty()][string]$DefaultRouteFqdn,
    [Parameter(ParameterSetName = 'DefaultRoute')][bool]$IsPublicProvider,
    [Parameter(ParameterSetName = 'DefaultRoute')][VerificationLevelType]$VerificationLevel,
    [switch]$Force
  )
  process {
    $bound = [ordered]@{}
    foreach ($entry in $PSBoundParameters.GetEnumerator()) { $bound[$entry.Key] = $entry.Value }
    $setName = $PSCmdlet.ParameterSetName
    if ($setName -eq 'Instance') {
      # the instance's settings, then any parameter given beside it
      $Identity = [string]$Instance.Identity
      foreach ($name in @($script:AccessEdgeOrder + @('DiscoveredPartnerVerificationLevel', 'DnsSrvCacheRecordCount', 'SkypeSearchUrl', 'DefaultRouteFqdn', 'IsPublicProvider', 'VerificationLevel'))) {
        if ($name -eq 'Identity' -or $name -eq 'RoutingMethod' -or $bound.Contains($name)) { continue }
        $prop = $Instance.PSObject.Properties[$name]
        if ($null -ne $prop) { $bound[$name] = $prop.Value }
      }
      $bound.Remove('Instance')
    }
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Set-CsAccessEdgeConfiguration')) { return }
    Invoke-LxSimWrite $PSCmdlet 'Set-CsAccessEdgeConfiguration' $bound {
      param($State)
      $settings = $State['cms']['accessEdge']
      if (-not [string]::Equals($Identity, [string]$settings['Identity'], $script:IgnoreCase)) {
        throw (New-LxSimError "Cannot find an Access Edge configuration with Identity `"$Identity`": only the Global instance exists." 'AccessEdgeNotFound' ObjectNotFound $Identity)
      }
      $toDefault = $bound.Contains('UseDefaultRouting') -and [bool]$bound['UseDefaultRouting']
      if ($toDefault) {
        $fqdn = $settings['DefaultRouteFqdn']
        if ($bound.Contains('DefaultRouteFqdn')) { $fqdn = $bound['DefaultRouteFqdn'] }
        if ([string]::IsNullOrEmpty([string]$fqdn)) {
          throw (New-LxSimError 'Default routing needs a route: set -DefaultRouteFqdn together with -UseDefaultRouting.' 'DefaultRouteFqdnMissing' InvalidArgument $Identity)
        }
        $providers = (Get-LxSimList $State['cms']['hostingProviders']).Count
        if ($State['cms'].Contains('publicProviders')) { $providers += (Get-LxSimList $State['cms']['publicProviders']).Count }
        if ($providers -gt 0) {
          throw (New-LxSimError ('You must remove all hosting providers and public providers before you can assign a default route ' +
              '(-DefaultRouteFqdn). Remove them with Remove-CsHostingProvider and Remove-CsPublicProvider first.') 'ProvidersExist' InvalidOperation $Identity)
        }
      }
      $skip = @('Identity', 'Instance', 'Force', 'UseDnsSrvRouting', 'UseDefaultRouting', 'WhatIf', 'Confirm') + $script:CommonParameters
      foreach ($entry in $bound.GetEnumerator()) {
        if ($skip -contains $entry.Key) { continue }
        $v = $entry.Value
        if ($v -is [enum]) { $v = $v.ToString() }
        $settings[$entry.Key] = $v
      }
      if ($bound.Contains('UseDnsSrvRouting') -and [bool]$bound['UseDnsSrvRouting']) {
        $settings['RoutingMethod'] = 'UseDnsSrvRouting'
        $settings['DefaultRouteFqdn'] = $null
      }
      elseif ($toDefault) { $settings['RoutingMethod'] = 'UseDefaultRouting' }
      return $true
    }
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
      ConvertTo-LxSimProvider $p $view.State
    }
  }
  catch { Stop-LxSim $PSCmdlet $_ }
}

function New-CsHostingProvider {
  # Two parameter sets as in the Lync 2013 docs: EnabledSharedAddressSpace and HostsOCSUsers come together or not at
  # all. Fails on an existing Identity and on a ProxyFqdn another hosting or public provider owns. Writes nothing to
  # the pipeline; with -InMemory it writes the new provider and saves nothing (Set-CsHostingProvider -Instance does).
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
    [switch]$Force,
    [switch]$InMemory
  )
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
  if ($InMemory) { return (ConvertTo-LxSimProvider $provider $null) }
  if (-not $PSCmdlet.ShouldProcess($Identity, 'New-CsHostingProvider')) { return }
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
    $public = $null
    if ($State['cms'].Contains('publicProviders')) { $public = $State['cms']['publicProviders'] }
    foreach ($p in (Get-LxSimList $public)) {
      if ([string]::Equals([string]$p.Identity, $Identity, $script:IgnoreCase)) {
        throw (New-LxSimError "A public provider with Identity `"$([string]$p.Identity)`" already exists: Identities must be unique across hosting and public providers." 'ProviderIdentityExists' ResourceExists $Identity)
      }
      if ([string]::Equals([string]$p.ProxyFqdn, $ProxyFqdn, $script:IgnoreCase)) {
        throw (New-LxSimError ("The ProxyFqdn `"$ProxyFqdn`" is already used by the public provider `"$([string]$p.Identity)`": " +
            'a ProxyFqdn must be unique across hosting and public providers.') 'ProxyFqdnInUse' InvalidOperation $ProxyFqdn)
      }
    }
    $providers.Add($provider)
    $State['cms']['hostingProviders'] = $providers
    return $true
  }
}

function Set-CsHostingProvider {
  # No -ProxyFqdn: it cannot change in place (remove and recreate). -Instance takes a provider object (from Get- or
  # New- -InMemory) and saves its settings, creating it when it does not exist yet. Returns nothing.
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(Mandatory, ParameterSetName = 'Identity', Position = 0, ValueFromPipelineByPropertyName)][ValidateNotNullOrEmpty()][string]$Identity,
    [Parameter(Mandatory, ParameterSetName = 'Instance', ValueFromPipeline)][psobject]$Instance,
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
    $bound = [ordered]@{}
    foreach ($entry in $PSBoundParameters.GetEnumerator()) { $bound[$entry.Key] = $entry.Value }
    $fromInstance = $PSCmdlet.ParameterSetName -eq 'Instance'
    $proxy = $null
    if ($fromInstance) {
      $Identity = [string]$Instance.Identity
      $proxy = [string]$Instance.ProxyFqdn
      foreach ($name in @('Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'VerificationLevel', 'AutodiscoverUrl', 'SipClientPort')) {
        if ($bound.Contains($name)) { continue }
        $prop = $Instance.PSObject.Properties[$name]
        if ($null -ne $prop) { $bound[$name] = $prop.Value }
      }
      $bound.Remove('Instance')
      $bound['Identity'] = $Identity
    }
    if (-not $PSCmdlet.ShouldProcess($Identity, 'Set-CsHostingProvider')) { return }
    Invoke-LxSimWrite $PSCmdlet 'Set-CsHostingProvider' $bound {
      param($State)
      $providers = Get-LxSimList $State['cms']['hostingProviders']
      $i = Find-LxSimProvider $providers $Identity
      if ($i -lt 0 -and $fromInstance) {
        $p = [ordered]@{ Identity = $Identity; ProxyFqdn = $proxy; VerificationLevel = 'AlwaysVerifiable'; Enabled = $false
          EnabledSharedAddressSpace = $false; HostsOCSUsers = $false; IsLocal = $false; AutodiscoverUrl = $null; SipClientPort = [uint64]443 }
        $providers.Add($p)
        $State['cms']['hostingProviders'] = $providers
      }
      else { $p = Get-LxSimProviderOrFail $State $Identity }
      foreach ($name in @('Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'VerificationLevel', 'AutodiscoverUrl', 'SipClientPort')) {
        if (-not $bound.Contains($name)) { continue }
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

function Get-CsPublicProvider {
  # Lync's public providers (Messenger, Yahoo, AOL ship configured but not enabled). Read-only here: the bot only
  # needs them for the rule that Identity and ProxyFqdn are unique across hosting and public providers.
  [CmdletBinding(DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(ParameterSetName = 'Identity', Position = 0)][string]$Identity,
    [Parameter(ParameterSetName = 'Filter')][string]$Filter,
    [switch]$LocalStore
  )
  try {
    $view = Get-LxSimCmsView 'Get-CsPublicProvider' $LocalStore.IsPresent
    if ($null -eq $view.Cms) { return }
    $pattern = $null
    if ($PSBoundParameters.ContainsKey('Filter')) { $pattern = [System.Management.Automation.WildcardPattern]::new($Filter, 'IgnoreCase') }
    $list = $null
    if ($view.Cms.Contains('publicProviders')) { $list = $view.Cms['publicProviders'] }
    foreach ($p in (Get-LxSimList $list)) {
      $id = [string]$p.Identity
      if ($PSBoundParameters.ContainsKey('Identity') -and -not [string]::Equals($id, $Identity, $script:IgnoreCase)) { continue }
      if ($null -ne $pattern -and -not $pattern.IsMatch($id)) { continue }
      ConvertTo-LxSimPublicProvider $p $view.State
    }
  }
  catch { Stop-LxSim $PSCmdlet $_ }
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
      $result = [CentralManagementStoreStatusResult]::new()
      if ($null -ne $master) { $result.ActiveMasterFqdn = $master }
      $result.ActiveFileTransferAgents = $agents
      $result.ActiveReplicas = $active.ToArray()
      $result.DeletedReplicas = [string[]]@()
      if (Test-LxSimPlainObjects $view.State) { return [pscustomobject][ordered]@{ ActiveMasterFqdn = $master; ActiveFileTransferAgents = $agents; ActiveReplicas = $active.ToArray(); DeletedReplicas = [string[]]@() } }
      return $result
    }
    $now = Get-LxSimNow $view.State
    foreach ($r in $replicas) {
      if ($PSBoundParameters.ContainsKey('ReplicaFqdn') -and -not [string]::Equals([string]$r.fqdn, $ReplicaFqdn, $script:IgnoreCase)) { continue }
      $rv = Get-LxSimReplicaView $view.State $r $now
      if (Test-LxSimPlainObjects $view.State) {
        [pscustomobject][ordered]@{ UpToDate = [bool]$rv.UpToDate; ReplicaFqdn = [string]$r.fqdn; LastStatusReport = $rv.LastStatusReport; LastUpdateCreation = $rv.LastUpdateCreation; ProductVersion = $rv.ProductVersion }
        continue
      }
      $o = [ReplicaState]::new()
      $o.UpToDate = [bool]$rv.UpToDate
      $o.ReplicaFqdn = [string]$r.fqdn
      $o.LastStatusReport = ConvertTo-LxSimOutputDate $rv.LastStatusReport $view.State
      $o.LastUpdateCreation = ConvertTo-LxSimOutputDate $rv.LastUpdateCreation $view.State
      if ($null -ne $rv.ProductVersion) { $o.ProductVersion = [string]$rv.ProductVersion }
      $o
    }
  }
  catch { Stop-LxSim $PSCmdlet $_ }
}

function Invoke-CsManagementStoreReplication {
  # Forces a full replication: deletes the targets' status, so they read UpToDate=False until they report back
  # (after their lag). Without -ReplicaFqdn, every replica. Returns nothing. As documented it has no -WhatIf or
  # -Confirm (it does not support ShouldProcess), only -Force.
  [CmdletBinding()]
  param(
    [Parameter(Position = 0, ValueFromPipelineByPropertyName)][string]$ReplicaFqdn,
    [switch]$Force
  )
  process {
    $bound = $PSBoundParameters
    Invoke-LxSimWrite $PSCmdlet 'Invoke-CsManagementStoreReplication' $bound {
      param($State)
      $now = Format-LxSimDate (Get-LxSimNow $State)
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
      # not $identity: variables ignore case, and the [string] parameter $Identity would turn it back into text
      $idObject = [XdsIdentity]::new($id)
      if (Test-LxSimPlainObjects $view.State) { $idObject = $id }
      [pscustomobject][ordered]@{ Identity = $idObject; Description = $p['Description']; Destination = $p['Destination']; Organization = $p['Organization'] }
    }
  }
  catch { Stop-LxSim $PSCmdlet $_ }
}

Export-ModuleMember -Function Get-CsAccessEdgeConfiguration, Set-CsAccessEdgeConfiguration, Get-CsHostingProvider,
  New-CsHostingProvider, Set-CsHostingProvider, Remove-CsHostingProvider, Enable-CsHostingProvider, Disable-CsHostingProvider,
  Get-CsPublicProvider, Get-CsManagementStoreReplicationStatus, Invoke-CsManagementStoreReplication, Get-CsHostedVoicemailPolicy
