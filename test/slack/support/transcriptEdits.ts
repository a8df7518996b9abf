// Small edits on a harness transcript for conversations whose raw order is not deterministic or that include
// something no person did (the expiry sweeper). They work on entries, then render with the harness's own renderer.
import { collapse, type Entry } from '../transcript.js';

/** A line in the transcript, before the entry at `index`, for something that happened without a person (a sweeper). */
export function noteAt(entries: Entry[], index: number, line: string): Entry[] {
  return [...entries.slice(0, index), { kind: 'person', line }, ...entries.slice(index)];
}

/**
 * After people acting at once (consecutive person lines), the bot's ephemeral replies (and response_url answers) race with its channel messages:
 * within each such block, keep the channel messages in their order and move the ephemerals to the block's end,
 * sorted by recipient and text. The concurrent person lines themselves are sorted too.
 */
export function settleRaces(entries: Entry[]): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  while (i < entries.length) {
    const e = entries[i]!;
    if (e.kind === 'person' && entries[i + 1]?.kind === 'person' && !(entries[i + 1] as { line: string }).line.startsWith('  (ack')) {
      const people: Entry[] = [];
      while (entries[i]?.kind === 'person') people.push(entries[i++]!);
      const block: Entry[] = [];
      while (i < entries.length && entries[i]!.kind === 'api') block.push(entries[i++]!);
      const key = (x: Entry) => (x.kind === 'person' ? x.line : `${String(x.call.body.user)} ${String(x.call.body.text)}`);
      // a response_url answer races the same way (it waits for the directory's users.info like any decision)
      const isEphemeral = (x: Entry) => x.kind === 'api' && (x.call.method === 'chat.postEphemeral' || x.call.method === 'respond');
      out.push(...people.sort((a, b) => key(a).localeCompare(key(b))));
      // progress updates split by an ephemeral become one series again
      out.push(...collapse(block.filter((x) => !isEphemeral(x))));
      out.push(...block.filter(isEphemeral).sort((a, b) => key(a).localeCompare(key(b))));
      continue;
    }
    out.push(e);
    i++;
  }
  return out;
}
