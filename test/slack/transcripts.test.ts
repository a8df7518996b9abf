// Whole conversations through Slack's transport and the real core, with PowerShell agents on LyncSim; each is
// compared with its transcript under test/slack/transcripts/ (update with `npx vitest run test/slack -u`).
// The hybrid conversations (commands/hybrid.yml, the procedure added as data) run on the in-memory agent: they are
// about the procedure, not the PowerShell boundary, and the contract test keeps that agent equal to LyncSim.
import { afterEach, describe, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { okCalls, readSimState, type SimOverrides, type SimState } from '../support/simState.js';
import { USERS } from '../support/world.js';
import { type Harness, progressOf, startHarness } from './transcript.js';

const names = { [USERS.alice]: 'alice', [USERS.bob]: 'bob', [USERS.carol]: 'carol', [USERS.mallory]: 'mallory' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describeWithPwsh('Slack transcripts against LyncSim', () => {
  it('setup approved and verified', async () => {
    h = await startHarness({ executable: pwshExecutable()!, names });
    await h.say(USERS.alice, 'setup');
    const requestId = h.pendingRequestId();
    await h.click(USERS.bob, 'approve', requestId);
    await h.say(USERS.alice, 'verify');
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/setup-approved-and-verified.txt');

    // the run message moved forward step by step and never went back
    const runPost = h.api.calls.find((c) => c.method === 'chat.postMessage' && String(c.body.text).startsWith('Run '))!;
    const updates = progressOf(h.api, runPost.response!.ts as string);
    expect(updates.length).toBeGreaterThanOrEqual(4);
    const rank = [':white_small_square:', ':arrows_counterclockwise:', ':white_check_mark:'];
    for (let i = 1; i < updates.length; i++) {
      updates[i]!.forEach((status, step) => expect(rank.indexOf(status)).toBeGreaterThanOrEqual(rank.indexOf(updates[i - 1]![step]!)));
    }
    expect(updates.at(-1)!.every((s) => s === ':white_check_mark:')).toBe(true);
  });

  it('self-approval refused', async () => {
    h = await startHarness({ executable: pwshExecutable()!, names });
    await h.say(USERS.alice, 'setup --cloud gcchigh');
    const requestId = h.pendingRequestId();
    await h.click(USERS.alice, 'approve', requestId);
    await h.click(USERS.bob, 'deny', requestId);
    await h.submitDenial(USERS.bob, requestId, 'GCC High is not our tenant');
    await h.click(USERS.carol, 'approve', requestId);
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/self-approval-refused.txt');
    expect(h.api.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
  });
});

// --- hybrid ------------------------------------------------------------------------------------------------------

const replication = { pollIntervalMs: 250, timeoutMs: 60_000 };
const AUTODISCOVER = 'https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root';
const exchangeOnline = { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', EnabledSharedAddressSpace: true, VerificationLevel: 'UseSourceVerification' } as const;
/** an older Skype for Business Online provider under another name: Microsoft's procedure removes it first */
const lyncOnline = { Identity: 'LyncOnline', ProxyFqdn: 'sipfed.online.lync.com', EnabledSharedAddressSpace: true, HostsOCSUsers: true, VerificationLevel: 'UseSourceVerification', AutodiscoverUrl: AUTODISCOVER, SipClientPort: 444 } as const;
/** setup done earlier: federated users allowed, the Exchange Online provider in place */
const afterSetup: SimOverrides = { accessEdge: { AllowFederatedUsers: true }, providers: [exchangeOnline, lyncOnline] };

async function startHybrid(sim: SimOverrides = {}, policy = {}): Promise<Harness> {
  h = await startHarness({ executable: '', names, world: { agents: 'memory', sim, policy: { replication, ...policy } } });
  return h;
}

const sim = (x: Harness): SimState => readSimState(x.world.statePath);
const runOf = async (x: Harness, requestId: string) => (await x.world.store.getRun((await x.world.store.getRequest(requestId))!.runId!))!;

describe('hybrid transcripts (in-memory agents)', () => {
  it('hybrid beside Exchange Online: plan, approval, run, replication, Edge check, verify, rollback, verify', async () => {
    const x = await startHybrid(afterSetup);
    await x.say(USERS.alice, 'hybrid');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    await x.say(USERS.alice, 'verify hybrid');
    await x.say(USERS.alice, 'rollback');
    const rollbackId = x.pendingRequestId();
    await x.click(USERS.carol, 'approve', rollbackId);
    await x.say(USERS.alice, 'verify hybrid');
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/hybrid-approved-verified-rolled-back.txt');

    const run = await runOf(x, id);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.kind, s.status])).toEqual([
      ['change', 'succeeded'],
      ['change', 'succeeded'],
      ['change', 'succeeded'],
      ['replication', 'succeeded'],
      ['edge-check', 'succeeded'],
    ]);
    const undo = await runOf(x, rollbackId);
    expect(undo.status).toBe('succeeded');
    // the deployment is as it was: LyncOnline back with its AutodiscoverUrl and port, Exchange Online never touched
    const after = sim(x);
    expect(after.cms.hostingProviders.map((p) => [p.Identity, p.ProxyFqdn, p.AutodiscoverUrl, p.SipClientPort])).toEqual([
      ['Exchange Online', 'exap.um.outlook.com', null, 443],
      ['LyncOnline', 'sipfed.online.lync.com', AUTODISCOVER, 444],
    ]);
    expect(after.cms.accessEdge).toMatchObject({ AllowFederatedUsers: true, AllowOutsideUsers: true, EnablePartnerDiscovery: false, RoutingMethod: 'UseDnsSrvRouting' });
    expect(okCalls(after, 'New-CsHostingProvider').map((c) => c.parameters.Identity)).toEqual(['Office365', 'LyncOnline']);
    expect(okCalls(after, 'Remove-CsHostingProvider').map((c) => c.parameters.Identity)).toEqual(['LyncOnline', 'Office365']);
    // the tenant-side step is told, in the plan and in the report
    const text = x.transcript();
    expect(text.split('Set-CsTenantFederationConfiguration -SharedSipAddressSpace $true').length - 1).toBeGreaterThanOrEqual(2);
  });

  it('hybrid for DoD, as a dry run: the cloud picks the federation FQDN and the Autodiscover URL; help names the clouds', async () => {
    const x = await startHybrid();
    await x.say(USERS.alice, 'help hybrid');
    await x.say(USERS.alice, 'plan hybrid --cloud dod');
    await x.say(USERS.alice, 'hybrid --cloud moon');
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/hybrid-dod-dry-run.txt');
    const text = x.transcript();
    expect(text).toContain('sipfed.online.dod.skypeforbusiness.us');
    expect(text).toContain('https://webdir.online.dod.skypeforbusiness.us/Autodiscover/AutodiscoverService.svc/root');
    expect(text).toMatch(/worldwide\|21vianet\|gcchigh\|dod/);
    expect(sim(x).calls).toEqual([]);
  });

  it('a hybrid run that timed out at replication can be rolled back (the stuck Edge times out that run too)', async () => {
    const x = await startHybrid({ stuckReplicas: ['edge01.contoso.local'] }, { replication: { pollIntervalMs: 250, timeoutMs: 3_000 } });
    await x.say(USERS.alice, 'hybrid --cloud gcchigh');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    await x.say(USERS.alice, 'rollback');
    const rollbackId = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', rollbackId);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/hybrid-replication-timeout-rolled-back.txt');

    const run = await runOf(x, id);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => [s.kind, s.status])).toEqual([
      ['change', 'succeeded'],
      ['change', 'succeeded'],
      ['replication', 'failed'],
      ['edge-check', 'skipped'],
    ]);
    // the rollback undid what the failed run changed in the Central Management Store
    const after = sim(x);
    expect(after.cms.hostingProviders).toEqual([]);
    expect(after.cms.accessEdge).toMatchObject({ AllowFederatedUsers: false, EnablePartnerDiscovery: false });
    expect(okCalls(after, 'New-CsHostingProvider')[0]!.parameters.ProxyFqdn).toBe('sipfed.online.gov.skypeforbusiness.us');
  });
  it('hybrid leaves a default route with -UseDnsSrvRouting; rollback names the route again with -UseDefaultRouting', async () => {
    // an Edge on a default route has no hosting or public providers (Lync refuses a default route while any exists)
    const x = await startHybrid({ routingMethod: 'UseDefaultRouting', defaultRouteFqdn: 'sip.upstream.example.com', publicProviders: [] });
    await x.say(USERS.alice, 'hybrid');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    await x.say(USERS.alice, 'rollback');
    const rollbackId = x.pendingRequestId();
    await x.click(USERS.carol, 'approve', rollbackId);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/hybrid-from-a-default-route.txt');

    expect((await runOf(x, id)).status).toBe('succeeded');
    expect((await runOf(x, rollbackId)).status).toBe('succeeded');
    const after = sim(x);
    const [hybrid, undo] = okCalls(after, 'Set-CsAccessEdgeConfiguration');
    expect(hybrid!.parameters).toEqual({ AllowFederatedUsers: true, EnablePartnerDiscovery: true, UseDnsSrvRouting: true });
    // the provider went first; the default route came back with its FQDN, and EnablePartnerDiscovery (not a property
    // of a default-route Edge) was left out
    expect(undo!.parameters).toEqual({ AllowFederatedUsers: false, UseDefaultRouting: true, DefaultRouteFqdn: 'sip.upstream.example.com' });
    expect(after.cms.accessEdge).toMatchObject({ RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'sip.upstream.example.com', AllowFederatedUsers: false });
    expect(after.cms.hostingProviders).toEqual([]);
  });
});
