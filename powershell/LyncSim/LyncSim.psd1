@{
  # LyncSim: the Lync Server 2013 / Skype for Business Server cmdlets the bot uses, simulated over a JSON state file
  # (see LyncSim.psm1 for the state format). For tests, trials and demos; the bot cannot tell it from the real module.
  RootModule        = 'LyncSim.psm1'
  ModuleVersion     = '0.1.0'
  GUID              = '5b0c7f5e-2f4d-4c7e-9a51-3f7d1c2a8e41'
  Author            = 'lync-exo'
  Description       = 'Simulated Lync Server 2013 / Skype for Business Server cmdlets (hosting providers, Access Edge, CMS replication) over a JSON state file.'
  PowerShellVersion = '5.1'
  FunctionsToExport = @(
    'Get-CsAccessEdgeConfiguration', 'Set-CsAccessEdgeConfiguration',
    'Get-CsHostingProvider', 'New-CsHostingProvider', 'Set-CsHostingProvider', 'Remove-CsHostingProvider',
    'Enable-CsHostingProvider', 'Disable-CsHostingProvider', 'Get-CsPublicProvider',
    'Get-CsManagementStoreReplicationStatus', 'Invoke-CsManagementStoreReplication',
    'Get-CsHostedVoicemailPolicy'
  )
  CmdletsToExport   = @()
  VariablesToExport = @()
  AliasesToExport   = @()
}
