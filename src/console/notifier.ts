// The core's Notifier in a terminal. A message is a numbered text block; an update of it is a new block marked
// "(update of message N)", since a terminal cannot edit what it printed. While a run is going, its updates are
// compacted to one line per change of a step (and per change of which replicas lag); the finished run is shown
// whole. Ephemeral replies read "(only you) …". The views are kept too, so the demo can check what was shown.
import type { Notifier, View } from '../core/ports.js';
import type { MessageRef, RunRecord, StepResult } from '../core/records.js';
import { replicaVerdict } from '../core/records.js';
import type { Words } from '../i18n/index.js';
import { renderPlanUpdate, renderViewText, stepMark } from './renderView.js';
import { duration, hang, style, type Style } from './text.js';

/** Where the console writes: process.stdout, or any stream a test or the demo hands in. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ConsoleNotifierOptions {
  out: Output;
  color?: boolean;
  /** the slash command as people type it */
  command?: string;
  /** the words of every message (--locale, or the policy's language); default English */
  words?: Words;
}

export interface Shown {
  ref: MessageRef;
  /** the latest view of the message */
  view: View;
  updates: number;
}

export class ConsoleNotifier implements Notifier {
  readonly messages: Shown[] = [];
  /** what each ephemeral reply said, in words, and its view */
  readonly ephemerals: { channel: string; user: string; text: string; view: View }[] = [];
  private readonly st: Style;
  private readonly command: string;
  /** per running message: what its last compact line said, so an unchanged poll prints nothing */
  private readonly progressSeen = new Map<string, string>();

  constructor(private readonly options: ConsoleNotifierOptions) {
    this.st = style(options.color ?? false);
    this.command = options.command ?? '/lync-exo';
  }

  private print(lines: string[]): void {
    this.options.out.write(`${lines.join('\n')}\n`);
  }

  private heading(text: string): string {
    return this.st.dim(`── ${text} ${'─'.repeat(Math.max(4, 60 - text.length))}`);
  }

  async post(channel: string, view: View): Promise<MessageRef> {
    const ref = { channel, ts: String(this.messages.length + 1) };
    this.messages.push({ ref, view: structuredClone(view), updates: 0 });
    this.print(['', this.heading(`message ${ref.ts} · ${view.kind}`), ...renderViewText(view, { command: this.command, style: this.st, words: this.options.words })]);
    if (view.kind === 'run') this.progressSeen.set(ref.ts, progressKey(view.run));
    return ref;
  }

  async update(ref: MessageRef, view: View): Promise<void> {
    const shown = this.messages.find((m) => m.ref.ts === ref.ts && m.ref.channel === ref.channel);
    if (!shown) throw new Error(`console: no message ${ref.ts} to update`);
    shown.view = structuredClone(view);
    shown.updates++;
    const mark = this.st.dim(`(update of message ${ref.ts})`);
    if (view.kind === 'run' && view.run.status === 'running') {
      const key = progressKey(view.run);
      if (this.progressSeen.get(ref.ts) === key) return;
      this.progressSeen.set(ref.ts, key);
      this.print([`${mark} ${progressLine(view.run, this.st)}`]);
      return;
    }
    this.progressSeen.delete(ref.ts);
    const body = view.kind === 'plan' && !view.dryRun ? renderPlanUpdate(view.request, { command: this.command, style: this.st, words: this.options.words }) : renderViewText(view, { command: this.command, style: this.st, words: this.options.words });
    this.print(['', this.heading(`message ${ref.ts} · ${view.kind}`), mark, ...body]);
  }

  async ephemeral(channel: string, user: string, view: View): Promise<void> {
    const text = renderViewText(view, { command: this.command, words: this.options.words }).join('\n');
    this.ephemerals.push({ channel, user, text, view: structuredClone(view) });
    this.print([this.st.dim(hang('(only you)', text))]);
  }

  /** the latest view of each message of a kind, oldest first */
  views<K extends View['kind']>(kind: K): Extract<View, { kind: K }>[] {
    return this.messages.filter((m) => m.view.kind === kind).map((m) => m.view as Extract<View, { kind: K }>);
  }

  lastEphemeral(user?: string): string | undefined {
    return this.ephemerals.filter((e) => user === undefined || e.user === user).at(-1)?.text;
  }
}

/** The step that is moving: the running one, else the last that finished. */
function currentStep(run: RunRecord): StepResult | undefined {
  return run.steps.find((s) => s.status === 'running') ?? run.steps.filter((s) => s.status !== 'pending').at(-1);
}

function lagging(step: StepResult | undefined): string[] {
  return step?.replicas?.filter((r) => !replicaVerdict(r).ok).map((r) => r.fqdn) ?? [];
}

function progressKey(run: RunRecord): string {
  const step = currentStep(run);
  return `${run.steps.map((s) => s.status).join(',')}|${lagging(step).join(',')}`;
}

function progressLine(run: RunRecord, st: Style): string {
  const step = currentStep(run);
  const done = run.steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length;
  const where = `run ${run.id} · step ${done}/${run.steps.length}`;
  if (!step) return `${where} · starting`;
  const late = lagging(step);
  const detail =
    step.kind === 'replication' && step.replicas && step.status === 'running'
      ? late.length
        ? `waiting for ${late.join(', ')} (${step.replicas.length - late.length} of ${step.replicas.length} up to date)`
        : 'every replica up to date'
      : `${step.status}${step.durationMs !== undefined ? ` in ${duration(step.durationMs)}` : ''}`;
  return `${where} · ${stepMark(step.status, st)} ${step.title}: ${detail}`;
}
