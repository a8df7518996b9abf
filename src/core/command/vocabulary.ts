// The subcommands of the slash command: one table that the parser, `help`, the handlers (src/core/handlers.ts) and
// the Slack manifest's usage hint read. Runbooks are subcommands of their own (commands/*.yml: a change runbook is
// `/lync-exo NAME`, the undo, compare and report runbooks are theirs); the few words that are not runbooks are here.
// Nothing here names a runbook: the table is built from the runbooks loaded.
import type { Runbook, RunbookKind } from '../runbook/schema.js';

/** What a subcommand does: a handler each (src/core/handlers.ts checks that every verb has one). */
export type Verb = RunbookKind | 'plan' | 'history' | 'cancel' | 'help';

/** The subcommands that are not runbooks, with what they take. */
const BUILT_IN = {
  plan: { usage: '[RUNBOOK] [OPTIONS]', summary: 'The plan of a change runbook (the default one unless named) with no buttons: a dry run', approval: false },
  history: { usage: '[N]', summary: 'The last N requests and runs (10 unless N is given, at most 100)', approval: false },
  cancel: { usage: 'REQUEST_ID', summary: 'Withdraw a pending request (its requester or an approver)', approval: false },
  help: { usage: '[SUBCOMMAND]', summary: 'This list, or how to use one subcommand', approval: false },
} as const satisfies Record<Exclude<Verb, RunbookKind>, { usage: string; summary: string; approval: boolean }>;
export const BUILT_IN_NAMES = Object.keys(BUILT_IN) as (keyof typeof BUILT_IN)[];

/** What usage shows after the name, per runbook kind (a change runbook: its options). */
const RUNBOOK_USAGE: Record<Exclude<RunbookKind, 'change'>, string> = { report: '', compare: '[RUNBOOK] [OPTIONS]', undo: '[RUN_ID]' };

export interface OptionUsage {
  name: string;
  /** `worldwide|21vianet|gcchigh` or `NAME` */
  placeholder: string;
  description: string;
  default: string;
}

export interface Subcommand {
  name: string;
  verb: Verb;
  /** the arguments after the name, as shown in help: `[--cloud worldwide|21vianet|gcchigh] [--identity NAME]` */
  usage: string;
  summary: string;
  /** true: the subcommand changes the deployment, so it goes through approval */
  approval: boolean;
  /** the runbook it runs (report, compare, undo, change) */
  runbook?: string;
  /** the options it takes (a change runbook: its inputs) */
  options: OptionUsage[];
}

export interface Vocabulary {
  subcommands: readonly Subcommand[];
  /** the change runbooks, the default one first */
  procedures: readonly Runbook[];
  /** the change runbook plan and verify take when none is named */
  defaultProcedure?: Runbook;
  find(name: string): Subcommand | undefined;
  procedure(name: string): Runbook | undefined;
}

export function optionsOf(runbook: Runbook): OptionUsage[] {
  return Object.entries(runbook.inputs).map(([name, spec]) => ({
    name,
    placeholder: spec.choices?.join('|') ?? spec.placeholder ?? name.toUpperCase(),
    description: spec.description,
    default: spec.default,
  }));
}

const optionUsage = (options: readonly OptionUsage[]) => options.map((o) => `[--${o.name} ${o.placeholder}]`).join(' ');
const KIND_ORDER: Record<RunbookKind, number> = { change: 0, report: 2, compare: 3, undo: 4 };

/** The table, from the runbooks: change runbooks (the default first), plan, reports, compare, undo, then the rest. */
export function buildVocabulary(runbooks: ReadonlyMap<string, Runbook>): Vocabulary {
  const all = [...runbooks.values()];
  const procedures = all.filter((rb) => rb.kind === 'change').sort((a, b) => Number(b.default) - Number(a.default) || a.name.localeCompare(b.name));
  const defaultProcedure = procedures.find((p) => p.default) ?? (procedures.length === 1 ? procedures[0] : undefined);
  const fromRunbook = (rb: Runbook): Subcommand => ({
    name: rb.name,
    verb: rb.kind,
    usage: rb.kind === 'change' ? optionUsage(optionsOf(rb)) : RUNBOOK_USAGE[rb.kind],
    summary: rb.summary,
    approval: rb.changes,
    runbook: rb.name,
    options: rb.kind === 'change' ? optionsOf(rb) : [],
  });
  const others = all.filter((rb) => rb.kind !== 'change').sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name));
  const builtIn = (name: keyof typeof BUILT_IN): Subcommand => ({ name, verb: name, ...BUILT_IN[name], options: [] });
  const subcommands: Subcommand[] = [...procedures.map(fromRunbook), builtIn('plan'), ...others.map(fromRunbook), builtIn('history'), builtIn('cancel'), builtIn('help')];
  return {
    subcommands,
    procedures,
    ...(defaultProcedure ? { defaultProcedure } : {}),
    find: (name) => subcommands.find((s) => s.name === name.toLowerCase()),
    procedure: (name) => procedures.find((p) => p.name === name.toLowerCase()),
  };
}

/** `/lync-exo setup [--cloud worldwide|21vianet|gcchigh] [--identity NAME]` */
export function usageLine(sub: Subcommand, commandName = '/lync-exo'): string {
  return [commandName, sub.name, sub.usage].filter(Boolean).join(' ');
}

/** The Slack manifest's usage_hint: every subcommand with its arguments, `|` between them. */
export function usageHint(vocabulary: Vocabulary): string {
  return vocabulary.subcommands.map((s) => [s.name, s.usage].filter(Boolean).join(' ')).join(' | ');
}
