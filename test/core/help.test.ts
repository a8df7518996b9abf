// Help from the vocabulary: `help`, `help setup` and `setup --help` answer from the same table the parser and the
// manifest's usage hint read; no agent is asked anything.
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { compose, staticAgentPool } from '../../src/compose.js';
import { testPolicy, USERS, CHANNEL } from '../support/world.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';

function service() {
  const notifier = new RecordingNotifier();
  const { service } = compose({ policy: testPolicy(), agents: staticAgentPool([]), notifier, directory: { groupMembers: async () => [] }, log: pino({ level: 'silent' }) });
  return { notifier, service };
}
const alice = { user: USERS.alice, channel: CHANNEL };

it('`help setup` and `setup --help` show that subcommand: usage, what it does, each option with its values and default', async () => {
  const { notifier, service: s } = service();
  await s.command(alice, 'help setup');
  await s.command(alice, 'setup --help');
  const [a, b] = notifier.ephemerals.map((e) => e.text);
  expect(a).toBe(b);
  expect(a!.split('\n')).toEqual([
    'usage: `/lync-exo setup [--cloud worldwide|21vianet|gcchigh] [--identity NAME]`',
    'Connect the deployment to Exchange Online (OWA IM and presence) (needs approval)',
    'options:',
    '  `--cloud worldwide|21vianet|gcchigh`: the Office 365 cloud that hosts the mailboxes (default: worldwide)',
    '  `--identity NAME`: the Identity of the hosting provider (default: Exchange Online)',
  ]);
  expect(notifier.notices(USERS.alice)[0]).toMatchObject({ code: 'usage', subcommand: { name: 'setup', approval: true } });
});

it('`help` lists every subcommand the runbooks make, and `help rollback` the undo', async () => {
  const { notifier, service: s } = service();
  await s.command(alice, 'help');
  const help = notifier.lastEphemeral(USERS.alice)!;
  expect(help).toMatch(/^usage of \/lync-exo:\n`\/lync-exo setup \[--cloud/);
  for (const name of ['plan', 'status', 'verify', 'rollback', 'history', 'cancel', 'help']) expect(help).toContain(`\`/lync-exo ${name}`);
  await s.command(alice, 'help rollback');
  expect(notifier.lastEphemeral(USERS.alice)).toMatch(/^usage: `\/lync-exo rollback \[RUN_ID\]`\nUndo a change run .*\(needs approval\)$/);
  await s.command(alice, 'help stup');
  expect(notifier.lastEphemeral(USERS.alice)).toMatch(/^unknown subcommand "stup"; did you mean `setup`\?/);
});
