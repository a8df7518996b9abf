// Policy and topology from one YAML file (lync-exo.yml), validated at start-up. Objects are strict so that a typo
// in a key is an error rather than a setting silently left at its default.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { closestName } from '../core/command/parse.js';
import { checkTimeZone, DEFAULT_LOCALE, LOCALES } from '../i18n/index.js';
import { ROLES, type Role } from '../core/types.js';
import { checkWindows, nextTime, WEEKDAYS, type Weekday } from '../core/schedule.js';
import { ConfigError, describeIssues } from './runbooks.js';

/** A strict object whose unknown keys are named, with the nearest known key when one is close. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      return issue.keys
        .map((k) => {
          const guess = closestName(k, known);
          return `unknown key "${k}"${guess ? ` (did you mean "${guess}"?)` : ''}; known keys: ${known.join(', ')}`;
        })
        .join('; ');
    },
  });
}

const userId = z.string().regex(/^[UW][A-Z0-9]{6,}$/, 'a Slack user id such as U0123ABCDEF (not a name or @mention)');
const groupId = z.string().regex(/^S[A-Z0-9]{6,}$/, 'a Slack user group id such as S0123ABCDEF (not a @handle)');
const channelId = z.string().regex(/^[CGD][A-Z0-9]{6,}$/, 'a Slack channel id such as C0123ABCDEF (not a #name)');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ., _ and -, starting with a letter or digit');
const role = z.enum(ROLES as [Role, ...Role[]], { error: `a role: ${ROLES.join(' or ')}` });
const roles = z
  .array(role)
  .min(1, 'at least one role')
  .refine((r) => new Set(r).size === r.length, 'a role is listed twice');
const int = (min: number, max: number, unit: string) =>
  z
    .number({ error: `a whole number of ${unit}` })
    .int(`a whole number of ${unit}`)
    .min(min, `at least ${min} ${unit}`)
    .max(max, `at most ${max} ${unit}`);
const people = <T extends z.ZodType<string>>(id: T) => z.array(id).default([]);

const fqdn = z
  .string()
  .regex(/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'a server FQDN such as edge01.contoso.local');

const moduleName = z
  .string()
  .refine((m) => m === 'Lync' || m === 'SkypeForBusiness' || /\.psd1$/i.test(m), 'Lync, SkypeForBusiness, or the path of a module manifest (.psd1)');

const embeddedAgent = strict({
  name: name.default('embedded'),
  /** the server this bot runs on, as the replication status names it; null: this machine's name */
  host: fqdn.nullable().default(null),
  roles: roles.default(['internal', 'edge']),
  module: moduleName.default('Lync'),
  /** the PowerShell executable; null: find one */
  powershell: z.string().min(1).nullable().default(null),
  /** extra environment for the PowerShell process; numbers and booleans become strings */
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'),
      z.union([z.string(), z.number(), z.boolean()]).transform(String),
    )
    .default({}),
  invocationTimeoutSeconds: int(1, 3600, 'seconds').default(120),
});

/** a remote agent: its name, the roles the bot lets it serve, and the environment variable that holds its token */
const remoteAgent = strict({
  name,
  roles,
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable (letters, digits and _), not the token itself')
    .optional(),
});

/** An IANA zone Intl knows (Europe/London, Asia/Taipei, UTC). */
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Europe/London or Asia/Taipei');
const timeOfDay = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a time of day HH:MM such as 22:00 (24-hour clock)');

/** Change windows: an approved change outside them waits for the next one. */
const changeWindows = strict({
  timeZone,
  open: z
    .array(
      strict({
        days: z.array(z.enum(WEEKDAYS as unknown as [Weekday, ...Weekday[]], { error: `a day: ${WEEKDAYS.join(', ')}` })).min(1, 'at least one day'),
        from: timeOfDay,
        /** not after `from`: the window ends on the next day */
        to: timeOfDay,
      }),
    )
    .min(1, 'at least one window'),
}).superRefine((w, ctx) => {
  try {
    checkWindows(w);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Change references: the pattern a `--change` value must match, and whether every change needs one. */
const changeReference = strict({
  pattern: z.string().min(1).refine((p) => {
    try {
      new RegExp(p, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'a regular expression such as CHG[0-9]{7}'),
  required: z.boolean().default(true),
  example: z.string().optional(),
}).superRefine((r, ctx) => {
  if (r.example !== undefined && !new RegExp(`^(?:${r.pattern})$`, 'u').test(r.example)) ctx.addIssue({ code: 'custom', path: ['example'], message: `"${r.example}" does not match the pattern ${r.pattern}` });
});

/** The drift watch: verify on a cron schedule, a message in `channel` when the result changed. */
const watch = strict({
  schedule: z.string(),
  timeZone: timeZone.optional(),
  channel: channelId,
  runbook: name.optional(),
}).superRefine((w, ctx) => {
  try {
    nextTime(w.schedule, new Date(0), w.timeZone);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['schedule'], message: `not a cron schedule such as "0 * * * *" (minute hour day month weekday): ${(err as Error).message}` });
  }
});

/** Who a Slack user is in Active Directory: a rule on the profile email's parts, and/or a CSV file of exceptions. */
const directory = strict({
  accounts: strict({
    /** `{local}`, `{domain}`, `{email}`: CONTOSO\\{local} */
    rule: z.string().regex(/\{(local|domain|email)\}/, 'a rule with {local}, {domain} or {email}, such as CONTOSO\\{local}').optional(),
    /** the email domains the rule applies to; none: all */
    domains: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'an email domain such as contoso.com')).optional(),
    /** a CSV file of email,account lines (relative to this config file), checked before the rule */
    file: z.string().min(1).optional(),
  }).refine((a) => a.rule !== undefined || a.file !== undefined, 'give a rule, a file, or both'),
});

export const ConfigSchema = strict({
  /** the deployment's name: it names the lock that allows one change run at a time */
  deployment: strict({ name }),
  slack: strict({
    command: z
      .string()
      .regex(/^\/[a-z0-9][a-z0-9_-]{0,30}$/, 'a slash command such as /lync-exo: a / then lowercase letters, digits, - and _, 32 characters at most')
      .default('/lync-exo'),
    /** channel ids where the bot answers; empty: any channel */
    channels: z.array(channelId).default([]),
  }).default({ command: '/lync-exo', channels: [] }),
  approval: strict({
    requesters: strict({ users: people(userId), groups: people(groupId), anyone: z.boolean().default(false) }).default({ users: [], groups: [], anyone: false }),
    approvers: strict({ users: people(userId), groups: people(groupId) }),
    required: int(1, 5, 'approvers').default(1),
    expiresAfterMinutes: int(1, 7 * 24 * 60, 'minutes').default(60),
  }).superRefine((a, ctx) => {
    if (!a.requesters.anyone && a.requesters.users.length === 0 && a.requesters.groups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['requesters'], message: 'nobody may request changes: list users or groups, or set anyone: true' });
    }
    if (a.approvers.users.length === 0 && a.approvers.groups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'no approvers: list at least one user or group' });
    } else if (a.approvers.groups.length === 0 && a.required > new Set(a.approvers.users).size) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${a.required} approvals required but only ${new Set(a.approvers.users).size} approver(s) listed, so no request could ever be approved`,
      });
    }
  }),
  replication: strict({
    pollIntervalSeconds: int(1, 300, 'seconds').default(10),
    timeoutSeconds: int(10, 3600, 'seconds').default(300),
    /** replicas that must be up to date besides the Edges the Edge check reads (each Edge agent's namesake replica) */
    require: z.array(fqdn).optional(),
    /** replicas never waited for: trusted application pools and retired servers that never report */
    ignore: z.array(fqdn).optional(),
  })
    .refine((r) => r.pollIntervalSeconds <= r.timeoutSeconds, { path: ['pollIntervalSeconds'], message: 'longer than timeoutSeconds' })
    .superRefine((r, ctx) => {
      r.ignore?.forEach((f, i) => {
        if (r.require?.some((q) => q.toLowerCase() === f.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['ignore', i], message: `"${f}" is also in require` });
      });
    })
    .default({ pollIntervalSeconds: 10, timeoutSeconds: 300 }),
  /** the language of channel messages (and of people whose Slack locale lync-exo does not speak), and the zone of dates */
  messages: strict({
    locale: z.enum(LOCALES, { error: `a language lync-exo speaks: ${LOCALES.join(' or ')}` }).default(DEFAULT_LOCALE),
    timeZone: z
      .string()
      .refine((tz) => checkTimeZone(tz) === undefined, { error: (issue) => checkTimeZone(String(issue.input)) ?? 'not a time zone' })
      .default('UTC'),
  }).default({ locale: DEFAULT_LOCALE, timeZone: 'UTC' }),
  agents: strict({
    /** the agent inside the bot process */
    embedded: embeddedAgent.default(() => embeddedAgent.parse({})),
    /** agents on other Windows hosts that connect to the bot; only these may connect, each with its own token */
    remote: z.array(remoteAgent).default([]),
    /** Edge agents that must report in verification */
    expectedEdges: z.array(name).default([]),
  })
    .superRefine((a, ctx) => {
      const all = [a.embedded, ...a.remote];
      a.remote.forEach((r, i) => {
        if (all.findIndex((x) => x.name === r.name) < i + 1) ctx.addIssue({ code: 'custom', path: ['remote', i, 'name'], message: `agent name "${r.name}" is used twice` });
      });
      a.expectedEdges.forEach((e, i) => {
        const agent = all.find((x) => x.name === e);
        if (!agent) ctx.addIssue({ code: 'custom', path: ['expectedEdges', i], message: `"${e}" is not an agent (agents: ${all.map((x) => x.name).join(', ')})` });
        else if (!agent.roles.includes('edge')) ctx.addIssue({ code: 'custom', path: ['expectedEdges', i], message: `agent "${e}" does not have the edge role` });
      });
    })
    .default(() => ({ embedded: embeddedAgent.parse({}), remote: [], expectedEdges: [] })),
  changeWindows: changeWindows.optional(),
  changeReference: changeReference.optional(),
  directory: directory.optional(),
  watch: watch.optional(),
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** the account table read from directory.accounts.file: email (lower-cased) → account */
  accountTable?: Record<string, string>;
};

/** `email,account` lines; a header line, blank lines and `#` comments are skipped. Errors name the file and line. */
export function parseAccountsCsv(text: string, file: string): Record<string, string> {
  const table: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const cells = line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (i === 0 && !cells[0]!.includes('@')) return; // a header
    if (cells.length !== 2 || !/^[^@\s]+@[^@\s]+$/.test(cells[0]!) || !cells[1]) throw new ConfigError(`${file}: line ${i + 1}: expected "email,account" such as alice@contoso.com,CONTOSO\\alice; got ${JSON.stringify(line.slice(0, 80))}`);
    table[cells[0]!.toLowerCase()] = cells[1]!;
  });
  return table;
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v);
/** zod's wording for a missing key or a wrong type, in the house style: "required", "expected boolean, got string". */
const messages = (issue: z.core.$ZodRawIssue) => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'required';
  return `expected ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected}, got ${kind(issue.input)}`;
};

export function parseConfig(text: string, file: string): Config {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) throw new ConfigError(`${file}: the file is empty; lync-exo.example.yml shows every field`);
  const result = ConfigSchema.safeParse(data, { error: messages });
  if (!result.success) throw new ConfigError(`${file}: ${describeIssues(result.error).join('; ')}`);
  const csv = result.data.directory?.accounts.file;
  if (csv === undefined) return result.data;
  const where = path.resolve(path.dirname(file), csv);
  let table: string;
  try {
    table = readFileSync(where, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: directory.accounts.file: cannot read ${where}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { ...result.data, accountTable: parseAccountsCsv(table, where) };
}

export function readConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`${path}: no such file; copy lync-exo.example.yml there and edit it, or point LYNC_EXO_CONFIG at your config file`);
    }
    throw new ConfigError(`${path}: cannot read the config file: ${code ?? (err as Error).message}`);
  }
  return parseConfig(text, path);
}
