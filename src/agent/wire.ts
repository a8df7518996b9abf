// The wire between the agent and its PowerShell session: what goes down stdin and what comes back on stdout.
// User values never become script text: every line we send is a fixed command with one base64 argument in
// single quotes (base64 has no quote characters), decoded and splatted by powershell/LyncExoAgent.psm1.
//
// Each answer comes back as `lx1r <id> <mac> <json>`: the id is the invocation's, the MAC an HMAC-SHA256 with a
// key the session got before any module code ran. The console may write anything around it (terminal sequences,
// a cmdlet's own text, even a line of the same shape): only a line bound to this invocation is taken.
//
// Payload (UTF-8, LF-separated, then base64 as a whole):
//   lx1
//   id <32 hex>
//   cmdlet <Verb-Noun>
//   s <Name> <base64 of UTF-8>   string
//   b <Name> 1|0                 boolean (also a switch: true → -Switch, false → -Switch:$false)
//   i <Name> <decimal>           integer
//   n <Name>                     null
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Invocation, ParamValue } from '../core/types.js';

export const CMDLET_NAME = /^[A-Za-z]+-[A-Za-z]+$/;
export const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** Longest string value we send, in UTF-16 code units: far above any Lync value, small enough for one stdin line. */
export const MAX_STRING_LENGTH = 100_000;

/**
 * Common parameters that control streams or write session variables: the agent owns them (it forces
 * -ErrorAction Stop so that every error is caught and reported), so a step may not pass them.
 * -Confirm and -WhatIf stay allowed: runbooks pass -Confirm:$false.
 */
export const RESERVED_PARAMETERS: readonly string[] = [
  'ErrorAction',
  'WarningAction',
  'InformationAction',
  'ProgressAction',
  'ErrorVariable',
  'WarningVariable',
  'InformationVariable',
  'OutVariable',
  'OutBuffer',
  'PipelineVariable',
  'Debug',
  'Verbose',
];

export type Encoded = { ok: true; line: string } | { ok: false; message: string };

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Lone UTF-16 surrogates have no UTF-8 form: Buffer would silently turn them into U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string value cannot be sent unchanged, or undefined when it can. */
export function refuseString(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character, which cannot cross the process boundary reliably';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding';
  if (value.length > MAX_STRING_LENGTH) return `is longer than ${MAX_STRING_LENGTH} characters`;
  return undefined;
}

function encodeParameter(name: string, value: ParamValue): Encoded {
  if (value === null) return { ok: true, line: `n ${name}` };
  switch (typeof value) {
    case 'string': {
      const why = refuseString(value);
      return why ? { ok: false, message: `parameter ${name}: value ${why}` } : { ok: true, line: `s ${name} ${b64(value)}` };
    }
    case 'boolean':
      return { ok: true, line: `b ${name} ${value ? '1' : '0'}` };
    case 'number':
      // Lync parameters are integers (UInt32, UInt64 ports); a fraction or a lossy integer is a bug upstream.
      if (!Number.isSafeInteger(value)) return { ok: false, message: `parameter ${name}: ${value} is not a safe integer` };
      return { ok: true, line: `i ${name} ${Object.is(value, -0) ? 0 : value}` };
    default:
      return { ok: false, message: `parameter ${name}: values of type ${typeof value} are not supported` };
  }
}

/** A fresh invocation id: 128 random bits, hex. */
export const newInvocationId = (): string => randomBytes(16).toString('hex');
/** A fresh session key: 256 random bits. */
export const newSessionKey = (): Buffer => randomBytes(32);

/** The line that gives a new session its key; it runs before the Lync module is imported. */
export function encodeSessionKey(key: Buffer): string {
  return `Set-LxSessionKey -Payload '${b64(`lx1\nkey ${key.toString('hex')}`)}'`;
}

/** Checks an invocation and turns it into the one line that runs it; refusals name what is wrong. */
export function encodeInvocation(invocation: Invocation, allowlist: readonly string[], id: string): Encoded {
  const { cmdlet, parameters } = invocation;
  if (typeof cmdlet !== 'string' || !CMDLET_NAME.test(cmdlet)) return { ok: false, message: `cmdlet ${JSON.stringify(cmdlet)}: not a Verb-Noun name` };
  if (!allowlist.includes(cmdlet)) return { ok: false, message: `${cmdlet}: not on this agent's allowlist` };
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return { ok: false, message: `${cmdlet}: parameters must be an object` };
  const lines = ['lx1', `id ${id}`, `cmdlet ${cmdlet}`];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(parameters)) {
    if (!PARAMETER_NAME.test(name)) return { ok: false, message: `${cmdlet}: parameter name ${JSON.stringify(name)} is not a PowerShell parameter name` };
    // PowerShell parameter names are case-insensitive: Identity and identity would be the same parameter.
    const key = name.toLowerCase();
    if (seen.has(key)) return { ok: false, message: `${cmdlet}: parameter ${name} is given twice` };
    seen.add(key);
    if (RESERVED_PARAMETERS.some((r) => r.toLowerCase() === key)) return { ok: false, message: `${cmdlet}: parameter ${name} is reserved for the agent` };
    const encoded = encodeParameter(name, value);
    if (!encoded.ok) return { ok: false, message: `${cmdlet}: ${encoded.message}` };
    lines.push(encoded.line);
  }
  return { ok: true, line: `Invoke-LxStep -Payload '${b64(lines.join('\n'))}'` };
}

/**
 * The line that initializes a session: the module to import (name or .psd1 path), the allowlist, and for each read
 * cmdlet the properties its objects are reduced to (so heavy members never cross, and identities arrive as text).
 */
export function encodeInitialize(module: string, allowlist: readonly string[], projections: Readonly<Record<string, readonly string[]>>, id: string): Encoded {
  if (!module || refuseString(module)) return { ok: false, message: `module ${JSON.stringify(module)}: not a usable module name or path` };
  const bad = allowlist.find((c) => !CMDLET_NAME.test(c));
  if (bad !== undefined) return { ok: false, message: `allowlist: ${JSON.stringify(bad)} is not a Verb-Noun name` };
  const projected: string[] = [];
  for (const [cmdlet, properties] of Object.entries(projections)) {
    if (!allowlist.includes(cmdlet)) continue;
    const badProperty = properties.find((p) => !PARAMETER_NAME.test(p));
    if (badProperty !== undefined || properties.length === 0) return { ok: false, message: `projection of ${cmdlet}: ${JSON.stringify(badProperty ?? '')} is not a property name` };
    projected.push(`project ${cmdlet} ${properties.join(',')}`);
  }
  const lines = ['lx1', `id ${id}`, `module ${b64(module)}`, ...allowlist.map((c) => `allow ${c}`), ...projected];
  return { ok: true, line: `Initialize-LxAgent -Payload '${b64(lines.join('\n'))}'` };
}

/** The line that imports the prelude; the path is ours, but it goes as base64 too so no quoting is needed. */
export function encodeImportPrelude(preludePath: string): string {
  return `Import-Module ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${b64(preludePath)}'))) -DisableNameChecking -ErrorAction Stop`;
}

const PowerShellErrorSchema = z.object({
  message: z.string(),
  category: z.string().nullable(),
  errorId: z.string().nullable(),
  exceptionType: z.string().nullable(),
  target: z.string().nullable(),
});
export type PowerShellError = z.infer<typeof PowerShellErrorSchema>;

const EnvelopeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), output: z.array(z.unknown()), warnings: z.array(z.string()).optional() }),
  z.object({ ok: z.literal(false), error: PowerShellErrorSchema }),
]);
export type Envelope = z.infer<typeof EnvelopeSchema>;

export type Parsed = { ok: true; envelope: Envelope; noise: number } | { ok: false; message: string };

/** Console text without terminal control sequences (CSI and OSC), trimmed: what a person should read. */
export function cleanConsoleText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]/g, '').trim();
}

/** Where an answer line starts; whatever the console wrote before it on the same line is ignored. */
const ANSWER = /lx1r ([0-9a-f]{32}|unbound) (?:([0-9a-f]{64}) )?(\{.*\})/;

const macOf = (key: Buffer, id: string, json: string): Buffer => createHmac('sha256', key).update(`${id} ${json}`, 'ascii').digest();

/**
 * Finds this invocation's answer in what the session wrote to stdout between node-powershell's delimiters: the
 * last line carrying this id and a MAC that verifies with the session key. Other lines (console chatter, escapes,
 * a forged answer) are counted as noise and never parsed.
 */
export function parseAnswer(stdout: string, id: string, key: Buffer): Parsed {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim() !== '');
  let json: string | undefined;
  let rejected = 0;
  for (let i = lines.length - 1; i >= 0 && json === undefined; i--) {
    const match = ANSWER.exec(lines[i]!);
    if (!match) continue;
    // The JSON ends at its last brace: a console may append escapes after it on the same line.
    const body = match[3]!;
    if (match[1] === id && match[2]) {
      const expected = macOf(key, id, body);
      const given = Buffer.from(match[2], 'hex');
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        json = body;
        break;
      }
    }
    rejected++;
  }
  if (json === undefined) {
    const preview = cleanConsoleText(stdout).slice(0, 200);
    if (rejected > 0) return { ok: false, message: `no answer bound to this invocation (${rejected} unbound or forged answer line${rejected === 1 ? '' : 's'} ignored)` };
    return { ok: false, message: preview ? `no answer line in the output: ${JSON.stringify(preview)}` : 'no output at all' };
  }
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(json);
  } catch (err) {
    return { ok: false, message: `answer is not JSON: ${(err as Error).message}` };
  }
  const parsed = EnvelopeSchema.safeParse(parsedJson);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `answer has an unexpected shape: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}` };
  }
  return { ok: true, envelope: parsed.data, noise: lines.length - 1 };
}
