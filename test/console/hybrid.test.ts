// `hybrid` end to end in the console, through its real input and output, against two real PowerShell agents on
// LyncSim: the second procedure needs nothing of the console but its YAML (commands/hybrid.yml).
import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { runConsole } from '../../src/console/runConsole.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

/** Types `lines` into a fresh console and returns everything it printed. */
async function typeInto(lines: string[]): Promise<{ code: number; text: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  input.end(`${lines.join('\n')}\n`);
  const code = await runConsole({ input, output, executable: pwshExecutable()!, env: { LOG_LEVEL: 'silent' }, lagSeconds: 1 });
  return { code, text };
}

/** The text printed after the prompt line `who> line`, up to the next prompt. */
function after(text: string, prompt: string): string {
  const start = text.indexOf(`\n${prompt}\n`);
  expect(start, `no prompt "${prompt}" in:\n${text}`).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + prompt.length + 2);
  const next = rest.search(/\n[a-z0-9._-]+> /i);
  return next === -1 ? rest : rest.slice(0, next);
}

describeWithPwsh('hybrid in the console', { timeout: 240_000 }, () => {
  it('plans, runs on approval (replication, Edge check), verifies, rolls back and verifies again', async () => {
    const { code, text } = await typeInto(['hybrid', 'as bob', 'approve r-1', 'as alice', 'verify hybrid', 'rollback', 'as carol', 'approve', 'as alice', 'verify hybrid', 'quit']);
    expect(code).toBe(0);

    const plan = after(text, 'alice> hybrid');
    expect(plan).toContain('Requested by @alice · runbook hybrid · request `r-1`');
    expect(plan).toContain('PS> Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True -EnablePartnerDiscovery $True');
    expect(plan).toContain("-AutodiscoverUrl 'https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root'");
    expect(plan).toContain('Set-CsTenantFederationConfiguration -SharedSipAddressSpace $true');

    const run = after(text, 'bob> approve r-1');
    expect(run).toContain('Run run-1: hybrid — succeeded');
    expect(run).toMatch(/│ edge01\.contoso\.local\s+│ yes\s+│/);
    expect(run).toMatch(/│ edge01 │ AutodiscoverUrl\s+│ https:\/\/webdir\.online\.lync\.com\/Autodiscover\/AutodiscoverService\.svc\/root\s+│ https:\/\/webdir/);
    expect(run).toContain('✓ Succeeded: the change is in the Central Management Store and on every Edge');

    const verified = after(text, 'alice> verify hybrid');
    expect(verified).toContain('Asked by @alice · verdict ✓ pass');
    expect(verified).toMatch(/│ Hosting provider for Microsoft 365 \(shared SIP address space\): HostsOCSUsers\s+│ True\s+│ True\s+│ ✓ pass │/);
    const undo = after(text, 'carol> approve');
    expect(undo).toMatch(/Run run-\d+: rollback — succeeded/);
    expect(undo).toContain('PS> Remove-CsHostingProvider -Identity Office365 -Confirm:$false');
    // after the rollback the deployment is as it was, so the hybrid's desired state fails
    const last = text.slice(text.lastIndexOf('\nalice> verify hybrid\n'));
    expect(last).toContain('Asked by @alice · verdict ✗ fail');
    expect(last).toMatch(/│ Federation with Microsoft 365 on the Access Edge: AllowFederatedUsers\s+│ True\s+│ False\s+│ ✗ fail │/);
    expect(last).toMatch(/│ Hosting provider for Microsoft 365 \(shared SIP address space\): Office365 │ exists\s+│ absent\s+│ ✗ fail │/);
  });
});
