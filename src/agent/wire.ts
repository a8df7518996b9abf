// The wire between the agent and its PowerShell session: what goes down stdin and what comes back on stdout.
// User values never become script text: every line we send is a fixed command with one base64 argument in
// single quotes (base64 has no quote characters), decoded and splatted by powershell/LyncExoAgent.psm1.
//
// Payload (UTF-8, LF-separated, then base64 as a whole):
//   lx1
//   cmdlet <Verb-Noun>
//   s <Name> <base64 of UTF-8>   string
//   b <Name> 1|0                 boolean (also a switch: true → -Switch, false → -Switch:$false)
//   i <Name> <decimal>           integer
//   n <Name>                     null
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

/** Checks an invocation and turns it into the one line that runs it; refusals name what is wrong. */
export function encodeInvocation(invocation: Invocation, allowlist: readonly string[]): Encoded {
  const { cmdlet, parameters } = invocation;
  if (typeof cmdlet !== 'string' || !CMDLET_NAME.test(cmdlet)) return { ok: false, message: `cmdlet ${JSON.stringify(cmdlet)}: not a Verb-Noun name` };
  if (!allowlist.includes(cmdlet)) return { ok: false, message: `${cmdlet}: not on this agent's allowlist` };
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return { ok: false, message: `${cmdlet}: parameters must be an object` };
  const lines = ['lx1', `cmdlet ${cmdlet}`];
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

/** The line that initializes a session: the module to import (name or .psd1 path) and the allowlist. */
export function encodeInitialize(module: string, allowlist: readonly string[]): Encoded {
  if (!module || refuseString(module)) return { ok: false, message: `module ${JSON.stringify(module)}: not a usable module name or path` };
  const bad = allowlist.find((c) => !CMDLET_NAME.test(c));
  if (bad !== undefined) return { ok: false, message: `allowlist: ${JSON.stringify(bad)} is not a Verb-Noun name` };
  const lines = ['lx1', `module ${b64(module)}`, ...allowlist.map((c) => `allow ${c}`)];
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
  z.object({ ok: z.literal(true), output: z.array(z.unknown()) }),
  z.object({ ok: z.literal(false), error: PowerShellErrorSchema }),
]);
export type Envelope = z.infer<typeof EnvelopeSchema>;

export type Parsed = { ok: true; envelope: Envelope; noise: number } | { ok: false; message: string };

/**
 * Finds the envelope in what the session wrote to stdout between node-powershell's delimiters. It is the last
 * line that starts with {"ok": — anything else (a module's console chatter) is counted as noise, not parsed.
 */
export function parseEnvelope(stdout: string): Parsed {
  const lines = stdout.split(/\r?\n/).filter((l) => l.trim() !== '');
  const index = lines.findLastIndex((l) => l.startsWith('{"ok":'));
  const line = index === -1 ? undefined : lines[index];
  if (line === undefined) {
    const preview = stdout.trim().slice(0, 200);
    return { ok: false, message: preview ? `no result line in the output: ${JSON.stringify(preview)}` : 'no output at all' };
  }
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { ok: false, message: `result line is not JSON: ${(err as Error).message}` };
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `result line has an unexpected shape: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}` };
  }
  return { ok: true, envelope: parsed.data, noise: lines.length - 1 };
}
