// A second process for the concurrency tests: opens the same database file, says "ready", reads a start time (epoch
// ms) on stdin and spins until then, so the processes start within a millisecond of each other; then approves every
// request given as each of its users, and prints the outcomes as one JSON line.
// argv: <db file> <required> <request ids, comma-separated> <users, comma-separated>
import { once } from 'node:events';
import { openSqliteStore } from '../../src/store/sqlite.js';

const [file, required, ids, users] = process.argv.slice(2) as [string, string, string, string];
const store = openSqliteStore(file);
process.stdout.write('ready\n');
const [line] = (await once(process.stdin, 'data')) as [Buffer];
const start = Number(line.toString().trim());
while (Date.now() < start) {
  // spin: a timer would add its own jitter
}
const outcomes: { id: string; user: string; outcome: string }[] = [];
for (const id of ids.split(',')) {
  for (const user of users.split(',')) {
    const result = await store.approve(id, user, Number(required), new Date());
    outcomes.push({ id, user, outcome: result?.outcome ?? 'unknown' });
    // a pause now and then, so the other process's waiting transactions get their turn and the two interleave
    if (Math.random() < 0.5) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
store.closeDatabase();
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
process.stdin.destroy();
