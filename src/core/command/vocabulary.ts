// The subcommands of the slash command: one table that the parser, `help` and the Slack manifest's usage hint read.
// Every new subcommand starts here (then parser table tests, its runbook or handler, a transcript test).

export type SubcommandName = 'setup' | 'plan' | 'status' | 'verify' | 'rollback' | 'history' | 'cancel' | 'help';

/** The options a subcommand may take, with the placeholder shown in usage. Values are checked by the runbook. */
export const OPTIONS = {
  cloud: 'worldwide|21vianet|gcchigh',
  identity: 'NAME',
} as const;
export type OptionName = keyof typeof OPTIONS;

export interface Subcommand {
  name: SubcommandName;
  /** the arguments after the name, as shown in help: `[--cloud worldwide|21vianet|gcchigh] [--identity NAME]` */
  usage: string;
  summary: string;
  /** true: the subcommand changes the deployment, so it goes through approval */
  approval: boolean;
  options?: readonly OptionName[];
}

const RUNBOOK_OPTIONS: readonly OptionName[] = ['cloud', 'identity'];
const optionUsage = RUNBOOK_OPTIONS.map((o) => `[--${o} ${OPTIONS[o]}]`).join(' ');

export const SUBCOMMANDS: readonly Subcommand[] = [
  { name: 'setup', usage: optionUsage, summary: 'read the current state, plan, ask for approval, run, verify and report', approval: true, options: RUNBOOK_OPTIONS },
  { name: 'plan', usage: optionUsage, summary: 'the same plan as setup, with no buttons: a dry run', approval: false, options: RUNBOOK_OPTIONS },
  { name: 'status', usage: '', summary: 'replication status, Edge local stores and access edge settings', approval: false },
  { name: 'verify', usage: optionUsage, summary: 'compare the deployment with the desired configuration: pass or fail per item', approval: false, options: RUNBOOK_OPTIONS },
  { name: 'rollback', usage: '[RUN_ID]', summary: 'undo a finished setup (the last one, or RUN_ID) from the state captured before it', approval: true },
  { name: 'history', usage: '[N]', summary: 'the last N requests and runs (10 unless N is given, at most 100)', approval: false },
  { name: 'cancel', usage: 'REQUEST_ID', summary: 'withdraw a pending request (its requester or an approver)', approval: false },
  { name: 'help', usage: '', summary: 'this list', approval: false },
];

export function findSubcommand(name: string): Subcommand | undefined {
  const lower = name.toLowerCase();
  return SUBCOMMANDS.find((s) => s.name === lower);
}

/** `/lync-exo setup [--cloud worldwide|21vianet|gcchigh] [--identity NAME]` */
export function usageLine(sub: Subcommand, commandName = '/lync-exo'): string {
  return [commandName, sub.name, sub.usage].filter(Boolean).join(' ');
}

/** One line per subcommand: its usage in code format, what it does, and whether it needs approval. */
export function helpText(commandName = '/lync-exo'): string {
  const lines = SUBCOMMANDS.map((s) => `\`${usageLine(s, commandName)}\`: ${s.summary}${s.approval ? ' (needs approval)' : ''}`);
  return [`usage of ${commandName}:`, ...lines].join('\n');
}
