// The console driven through its real input and output: lines on a stream in, text out, against two real
// PowerShell agents on LyncSim.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { runConsole } from '../../src/console/runConsole.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

/** Types `lines` into a fresh console and returns its exit code and everything it printed. */
async function typeInto(lines: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; text: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  input.end(`${lines.join('\n')}\n`);
  const code = await runConsole({ input, output, executable: pwshExecutable()!, env: { LOG_LEVEL: 'silent', ...env }, lagSeconds: 1 });
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

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function configFile(text: string): string {
  dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-console-config-'));
  const file = path.join(dir, 'lync-exo.yml');
  writeFileSync(file, text);
  return file;
}

it('stops at start-up on a bad config file, naming the field, before any PowerShell starts', async () => {
  const file = configFile('deployment: { name: contoso }\napproval:\n  requesters: { users: [U0ALICE00] }\n  approvers: { userz: [U0BOB0000] }\n');
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  input.end('quit\n');
  const code = await runConsole({ input, output, executable: '/nonexistent/pwsh', env: { LYNC_EXO_CONFIG: file, LOG_LEVEL: 'silent' } });
  expect(code).toBe(2);
  expect(text).toMatch(/^lync-exo console: .*lync-exo\.yml: .*approval\.approvers.*unknown key "userz" \(did you mean "users"\?\)/);
});

// each test starts two PowerShell sessions and plays a conversation: minutes on a loaded machine; the bound ends a hang
describeWithPwsh('lync-exo console', { timeout: 240_000 }, () => {
  it('plays a whole approved setup: plan, self-approval refused, approval by bob, run, replication, Edge', async () => {
    const { code, text } = await typeInto(['setup', 'approve r-1', 'as bob', 'approve r-1', 'quit']);
    expect(code).toBe(0);
    expect(text).toMatch(/^PowerShell \d+\.\d+/m);

    const plan = after(text, 'alice> setup');
    expect(plan).toContain('── message 1 · plan');
    expect(plan).toContain('Requested by @alice · runbook setup · request `r-1`');
    expect(plan).toMatch(/│ ~ change │ Allow federated users.*│ AllowFederatedUsers\s+│ False\s+│ True/);
    expect(plan).toMatch(/│ \+ create │ Hosting provider for Exchange Online/);
    expect(plan).toContain("PS> New-CsHostingProvider -Identity 'Exchange Online'");
    expect(plan).toContain('Needs 1 approval from @bob, @carol; the requester cannot approve');
    expect(plan).toContain('⏳ Waiting for approval');

    expect(after(text, 'alice> approve r-1')).toContain('(only you) you made this request, so someone else must approve it');

    const run = after(text, 'bob> approve r-1');
    expect(run).toContain('(update of message 1)');
    expect(run).toContain('✓ Approved by @bob');
    expect(run).toContain('── message 2 · run');
    // progress goes through the outbox, latest state first: a state that was replaced before delivery is not printed
    expect(run).toMatch(/\(update of message 2\) run run-1 · step \d\/4 · /);
    expect(run).toContain('Run run-1: setup — succeeded');
    // the replica column is as wide as the longest name LyncSim lists
    expect(run).toMatch(/│ edge01\.contoso\.local\s+│ yes\s+│/);
    expect(run).toMatch(/│ edge01 │ ProxyFqdn\s+│ exap\.um\.outlook\.com\s+│ exap\.um\.outlook\.com\s+│ ✓ │/);
    expect(run).toContain('✓ Succeeded: the change is in the Central Management Store and on every Edge');
    // a piped console prints no colour codes
    expect(text).not.toContain('\u001b[');
  });

  it('refuses self-approval and non-approvers; a denial with a reason closes the request and nothing runs', async () => {
    const { code, text } = await typeInto(['setup', 'approve', 'as mallory', 'approve', 'as carol', 'deny change window closed', 'approve r-1', 'history', 'quit']);
    expect(code).toBe(0);
    expect(after(text, 'alice> approve')).toContain('(only you) you made this request, so someone else must approve it');
    expect(after(text, 'alice> as mallory')).toContain('the policy does not name mallory');
    expect(after(text, 'mallory> approve')).toContain('(only you) you are not an approver for lync-exo (approvers: @bob, @carol)');
    const denied = after(text, 'carol> deny change window closed');
    expect(denied).toContain('(update of message 1)');
    expect(denied).toContain('⛔ Denied by @carol');
    expect(denied).toContain(': change window closed');
    expect(after(text, 'carol> approve r-1')).toContain('(only you) request r-1 is already denied; nothing was changed');
    expect(after(text, 'carol> history')).toMatch(/│ r-1\s+│ setup\s+│ @alice\s+│.*│ denied: change window closed\s+│ @carol/);
    expect(text).not.toContain('Run run-');
  });

  it('takes its policy from LYNC_EXO_CONFIG: Slack user ids act, and the approvers of the config decide', async () => {
    const file = configFile('deployment: { name: fabrikam }\nslack: { channels: [C0LYNCOPS0] }\napproval:\n  requesters: { users: [U0ALICE00] }\n  approvers: { users: [U0BOB0000] }\n');
    const { code, text } = await typeInto(['setup', 'as U0CAROL00', 'approve', 'as U0BOB0000', 'deny not today', 'quit'], { LYNC_EXO_CONFIG: file });
    expect(code).toBe(0);
    expect(text).toContain(`Policy from ${file}: requesters U0ALICE00 · approvers U0BOB0000 · 1 approval · expiry 60 min`);
    // the config's Slack channels do not apply: the console is its own channel
    expect(after(text, 'U0ALICE00> setup')).toContain('Requested by @U0ALICE00 · runbook setup · request `r-1`');
    expect(after(text, 'U0ALICE00> setup')).toContain('deployment fabrikam');
    expect(after(text, 'U0CAROL00> approve')).toContain('you are not an approver for lync-exo (approvers: @U0BOB0000)');
    expect(after(text, 'U0BOB0000> deny not today')).toContain('⛔ Denied by @U0BOB0000');
  });
});
