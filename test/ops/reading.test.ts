// "reading the deployment…": posted when a command's first read starts, replaced by the command's answer; nothing
// for a command refused before it reads; a note in its place when the answer went privately.
import { expect, it } from 'vitest';
import type { AgentPool, Notifier, View } from '../../src/core/ports.js';
import type { Agent, InvocationResult } from '../../src/core/types.js';
import { READ_PRIVATELY_TEXT, READING_TEXT, readingAnswers } from '../../src/ops/reading.js';
import { warmStart, withWarmState } from '../../src/agent/warm.js';
import { loadRunbooks } from '../../src/config/runbooks.js';

function recorder() {
  const calls: { method: string; channel?: string; ts?: string; view?: View; text?: string }[] = [];
  let seq = 0;
  const notifier: Notifier = {
    post: async (channel, view) => {
      const ts = `${++seq}.0`;
      calls.push({ method: 'post', channel, ts, view });
      return { channel, ts };
    },
    update: async (ref, view) => void calls.push({ method: 'update', channel: ref.channel, ts: ref.ts, view }),
    ephemeral: async (channel, _user, view) => void calls.push({ method: 'ephemeral', channel, ...(view.kind === 'text' ? { text: view.text } : { view }) }),
  };
  return { calls, notifier };
}

/** An agent whose reads wait until released, so the test sees what happened while one was in flight. */
function gatedAgent() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const agent: Agent = {
    name: 'lync01',
    roles: ['internal', 'edge'],
    invoke: async (): Promise<InvocationResult> => {
      await gate;
      return { ok: true, output: [], durationMs: 1, agent: 'lync01' };
    },
    close: async () => undefined,
  };
  const pool: AgentPool = { forRole: () => [agent], expected: () => [], describe: () => [{ name: 'lync01', roles: agent.roles, online: true }] };
  return { pool, release };
}

const report: View = { kind: 'report', title: 'status', requester: 'U0ALICE', steps: [] };

it('a command that reads shows "reading the deployment…" while the read runs, then its answer in the same message', async () => {
  const { calls, notifier } = recorder();
  const { pool, release } = gatedAgent();
  const r = readingAnswers(notifier, pool);
  const done = r.command({ channel: 'C1' }, 'status', async () => {
    await r.agents.forRole('internal')[0]!.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} });
    await r.notifier.post('C1', report);
  });
  await new Promise((res) => setImmediate(res));
  // the read has not returned yet, and the channel already shows something
  expect(calls).toEqual([{ method: 'post', channel: 'C1', ts: '1.0', view: { kind: 'text', text: READING_TEXT('status') } }]);
  release();
  await done;
  expect(calls.slice(1)).toEqual([{ method: 'update', channel: 'C1', ts: '1.0', view: report }]);
});

it('a command refused before it reads posts nothing visible', async () => {
  const { calls, notifier } = recorder();
  const { pool } = gatedAgent();
  const r = readingAnswers(notifier, pool);
  await r.command({ channel: 'C1' }, 'setup', () => r.notifier.ephemeral('C1', 'U0DAVE', { kind: 'text', text: 'you may not ask for changes' }));
  expect(calls).toEqual([{ method: 'ephemeral', channel: 'C1', text: 'you may not ask for changes' }]);
});

it('a command that read and then answered privately leaves a note in place of "reading…"', async () => {
  const { calls, notifier } = recorder();
  const { pool, release } = gatedAgent();
  release();
  const r = readingAnswers(notifier, pool);
  await r.command({ channel: 'C1' }, 'setup', async () => {
    await r.agents.forRole('internal')[0]!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
    await r.notifier.ephemeral('C1', 'U0ALICE', { kind: 'text', text: 'could not read the current state' });
  });
  expect(calls.map((c) => c.method)).toEqual(['post', 'ephemeral', 'update']);
  expect(calls[2]).toEqual({ method: 'update', channel: 'C1', ts: '1.0', view: { kind: 'text', text: READ_PRIVATELY_TEXT('setup') } });
});

it('warm start: every agent starts at once with a runbook read, and status shows how each went', async () => {
  const started: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const agent = (name: string, ok: boolean): Agent => ({
    name,
    roles: ['internal'],
    invoke: async (inv) => {
      started.push(`${name} ${inv.cmdlet}`);
      await gate;
      return ok ? { ok: true, output: [], durationMs: 1, agent: name } : { ok: false, error: { kind: 'powershell', message: 'Import-Module: the module Lync was not loaded' }, durationMs: 1, agent: name };
    },
    close: async () => undefined,
  });
  const agents = [agent('fe01', true), agent('fe02', false)];
  const warm = warmStart(agents, loadRunbooks());
  // both started before either finished
  expect(started).toHaveLength(2);
  expect(started[0]).toMatch(/^fe01 Get-Cs/);
  const pool = withWarmState({ forRole: () => agents, expected: () => [], describe: () => agents.map((a) => ({ name: a.name, roles: a.roles, online: true })) }, warm);
  expect(pool.describe().map((r) => r.session)).toEqual([expect.stringMatching(/^starting/), expect.stringMatching(/^starting/)]);
  release();
  await warm.done;
  expect(pool.describe().map((r) => r.session)).toEqual([
    expect.stringMatching(/^started at boot in \d+\.\d s$/),
    expect.stringMatching(/^failed to start at boot after \d+\.\d s: Import-Module: the module Lync was not loaded$/),
  ]);
});
