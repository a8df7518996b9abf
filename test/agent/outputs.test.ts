import { describe, expect, it } from 'vitest';
import { checkOutput, isKnownCmdlet } from '../../src/agent/outputs.js';

const provider = {
  Identity: 'Exchange Online',
  ProxyFqdn: 'exap.um.outlook.com',
  VerificationLevel: 'UseSourceVerification',
  Enabled: true,
  EnabledSharedAddressSpace: true,
  HostsOCSUsers: false,
  IsLocal: false,
  AutodiscoverUrl: null,
  SipClientPort: 443,
  Name: 'Exchange Online',
};

describe('checkOutput', () => {
  it('passes a valid hosting provider, keeping extra properties', () => {
    expect(checkOutput('Get-CsHostingProvider', [provider])).toEqual({ ok: true, output: [provider] });
  });

  it('names the cmdlet, the item and the field when an enum came as a number', () => {
    const r = checkOutput('Get-CsHostingProvider', [provider, { ...provider, VerificationLevel: 2 }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^output of Get-CsHostingProvider: item 1: field VerificationLevel: .*; got 2$/);
  });

  it('names a missing field', () => {
    const r = checkOutput('Get-CsAccessEdgeConfiguration', [{ Identity: 'Global', AllowFederatedUsers: true }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^output of Get-CsAccessEdgeConfiguration: item 0: field RoutingMethod: .*; got nothing$/);
  });

  it('checks replica status dates as strings or null', () => {
    const replica = { UpToDate: false, ReplicaFqdn: 'edge01.contoso.local', LastStatusReport: null, LastUpdateCreation: '2024-11-23T07:40:58.0000000Z', ProductVersion: null };
    expect(checkOutput('Get-CsManagementStoreReplicationStatus', [replica]).ok).toBe(true);
    const r = checkOutput('Get-CsManagementStoreReplicationStatus', [{ ...replica, LastStatusReport: '/Date(1732347672000)/', UpToDate: 'True' }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('field UpToDate');
  });

  it('rejects a scalar where a read returns objects', () => {
    const r = checkOutput('Get-CsHostingProvider', ['Exchange Online']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^output of Get-CsHostingProvider: item 0: the object: /);
  });

  it.each(['Set-CsAccessEdgeConfiguration', 'New-CsHostingProvider', 'Remove-CsHostingProvider', 'Enable-CsHostingProvider', 'Disable-CsHostingProvider', 'Invoke-CsManagementStoreReplication'])(
    '%s returns an empty array, and extra output is tolerated',
    (cmdlet) => {
      expect(isKnownCmdlet(cmdlet)).toBe(true);
      expect(checkOutput(cmdlet, [])).toEqual({ ok: true, output: [] });
      expect(checkOutput(cmdlet, [provider, 'done'])).toEqual({ ok: true, output: [provider, { value: 'done' }] });
    },
  );
});
