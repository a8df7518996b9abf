// A whole conversation (setup, approval, run with replication wait and Edge check, verify, rollback, verify) in a
// world on the in-memory agent and in one on PowerShell agents on LyncSim: the core must show the same views in
// both, which is what lets core and front-end tests move to the fast world. Prints how long each took.
import { afterEach, expect, it } from 'vitest';
import type { View } from '../../src/core/ports.js';
import { okCalls, readSimState } from '../../src/simulator.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { CHANNEL, createWorld, USERS, type World, type WorldOptions } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Views without what differs between any two runs (times, durations); the rest must be equal. */
function comparable(views: View[]): unknown {
  const iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;
  return JSON.parse(
    JSON.stringify(views, (key, value: unknown) => {
      if (key === 'durationMs' || /At$/.test(key) || key === 'lastStatusReport' || key === 'lastUpdateCreation') return undefined;
      return typeof value === 'string' ? value.replace(iso, '<time>') : value;
    }),
  ) as unknown;
}

async function conversation(options: Partial<WorldOptions>) {
  const notifier = new RecordingNotifier();
  const started = performance.now();
  const w = createWorld({ notifier, ...options });
  world = w;
  await w.service.command(alice, 'setup');
  const setup = notifier.views('plan').at(-1)!;
  await w.service.approve(bob, setup.request.id);
  await w.scheduler.idle();
  await w.service.command(alice, 'verify');
  await w.service.command(alice, 'rollback');
  const rollback = notifier.views('plan').at(-1)!;
  await w.service.approve(bob, rollback.request.id);
  await w.scheduler.idle();
  await w.service.command(alice, 'verify');
  await w.scheduler.idle();
  const ms = performance.now() - started;
  const state = readSimState(w.statePath);
  await w.close();
  world = undefined;
  return { views: notifier.messages.map((m) => m.view), ephemerals: notifier.ephemerals, ms, state };
}

describeWithPwsh('a world on the in-memory agent', () => {
  it('shows the same conversation as a world on PowerShell agents, in a fraction of the time', async () => {
    const real = await conversation({ executable: pwshExecutable()! });
    const memory = await conversation({ agents: 'memory' });
    console.log(`\nsetup + verify + rollback + verify through the core: PowerShell agents ${real.ms.toFixed(0)} ms, in-memory agent ${memory.ms.toFixed(0)} ms\n`);

    const runs = memory.views.filter((v): v is Extract<View, { kind: 'run' }> => v.kind === 'run');
    expect(runs.map((r) => r.run.status)).toEqual(['succeeded', 'succeeded']);
    expect(okCalls(memory.state, 'New-CsHostingProvider')).toHaveLength(1);
    expect(okCalls(memory.state, 'Remove-CsHostingProvider')).toHaveLength(1);
    expect(comparable(memory.views)).toEqual(comparable(real.views));
    expect(memory.ephemerals).toEqual(real.ephemerals);
    expect(memory.state.cms).toEqual(real.state.cms);
  });
});
