// "reading the deployment…": sent to the person when a command's first read starts, replaced by the command's
// answer; nothing for a command refused before it reads; a closing line in its place when the answer went to the
// channel only.
import { expect, it } from 'vitest';
import type { AgentPool, Reply, ReplyOptions, View } from '../../src/core/ports.js';
import type { Agent, InvocationResult } from '../../src/core/types.js';
import { READ_DONE_TEXT, READING_TEXT, readingAnswers } from '../../src/ops/reading.js';
import { warmStart, withWarmState } from '../../src/agent/warm.js';
import { loadRunbooks } from '../../src/config/runbooks.js';

/** The answers one person got, in order, and whether each replaced the one before. */
function recorder() {
  const answers: { view: View; replace: boolean }[] = [];
  const reply: Reply = async (view: View, options?: ReplyOptions) => void answers.push({ view, replace: options?.replace === true });
  return { answers, actor: { user: 'U0ALICE', channel: 'C1', reply } };
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
const text = (t: string): View => ({ kind: 'text', text: t });

it('a command that reads shows "reading the deployment…" while the read runs, then its answer in its place', async () => {
  const { answers, actor } = recorder();
  const { pool, release } = gatedAgent();
  const r = readingAnswers(pool);
  const done = r.command(actor, 'status', async (a) => {
    await r.agents.forRole('internal')[0]!.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} });
    await a.reply(report);
  });
  await new Promise((res) => setImmediate(res));
  // the read has not returned yet, and the person already sees something
  expect(answers).toEqual([{ view: text(READING_TEXT('status')), replace: false }]);
  release();
  await done;
  expect(answers.slice(1)).toEqual([{ view: report, replace: true }]);
});

it('a command refused before it reads shows only its refusal', async () => {
  const { answers, actor } = recorder();
  const { pool } = gatedAgent();
  const r = readingAnswers(pool);
  await r.command(actor, 'setup', (a) => a.reply(text('you may not ask for changes')));
  expect(answers).toEqual([{ view: text('you may not ask for changes'), replace: false }]);
});

it('a command that read and answered only in the channel closes the note, saying where the answer is', async () => {
  const { answers, actor } = recorder();
  const { pool, release } = gatedAgent();
  release();
  const r = readingAnswers(pool);
  await r.command(actor, 'setup', async () => {
    await r.agents.forRole('internal')[0]!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
  });
  expect(answers).toEqual([
    { view: text(READING_TEXT('setup')), replace: false },
    { view: text(READ_DONE_TEXT('setup')), replace: true },
  ]);
});

it('a person with no reply to answer through (the console) is passed through as they are', async () => {
  const { pool, release } = gatedAgent();
  release();
  const r = readingAnswers(pool);
  const actor: { user: string; channel: string; reply?: Reply } = { user: 'U0ALICE', channel: 'C1' };
  const seen = await r.command(actor, 'status', async (a) => {
    await r.agents.forRole('internal')[0]!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
    return a;
  });
  expect(seen).toBe(actor);
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
