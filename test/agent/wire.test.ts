import { describe, expect, it } from 'vitest';
import { encodeImportPrelude, encodeInitialize, encodeInvocation, MAX_STRING_LENGTH, parseEnvelope, refuseString } from '../../src/agent/wire.js';

const ALLOW = ['Get-CsHostingProvider', 'New-CsHostingProvider'];
const LINE = /^Invoke-LxStep -Payload '([A-Za-z0-9+/=]*)'$/;

/** Decodes what encodeInvocation sent, as the prelude does. */
function decode(line: string): string[] {
  const m = LINE.exec(line);
  if (!m?.[1]) throw new Error(`not an Invoke-LxStep line: ${line}`);
  return Buffer.from(m[1], 'base64').toString('utf8').split('\n');
}
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('encodeInvocation', () => {
  it('sends one line with one base64 argument and typed parameters', () => {
    const r = encodeInvocation(
      { cmdlet: 'New-CsHostingProvider', parameters: { Identity: "Exchange 'Online' $(x)", Enabled: true, IsLocal: false, SipClientPort: 443, AutodiscoverUrl: null } },
      ALLOW,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.line).toMatch(LINE);
    expect(r.line).not.toMatch(/[\r\n]/);
    expect(decode(r.line)).toEqual([
      'lx1',
      'cmdlet New-CsHostingProvider',
      `s Identity ${b64("Exchange 'Online' $(x)")}`,
      'b Enabled 1',
      'b IsLocal 0',
      'i SipClientPort 443',
      'n AutodiscoverUrl',
    ]);
  });

  it('sends the empty string and negative integers', () => {
    const r = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: '', Port: -5, Zero: -0 } }, ALLOW);
    expect(r.ok && decode(r.line)).toEqual(['lx1', 'cmdlet Get-CsHostingProvider', 's Identity ', 'i Port -5', 'i Zero 0']);
  });

  it.each([
    [{ cmdlet: 'Get-CsHostingProvider; rm -r /', parameters: {} }, 'not a Verb-Noun name'],
    [{ cmdlet: 'Get-CsUser', parameters: {} }, 'Get-CsUser: not on this agent\'s allowlist'],
    [{ cmdlet: 'get-cshostingprovider', parameters: {} }, 'not on this agent\'s allowlist'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { 'Identity;x': 'a' } }, 'is not a PowerShell parameter name'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { '-Identity': 'a' } }, 'is not a PowerShell parameter name'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'a', identity: 'b' } }, 'parameter identity is given twice'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { ErrorAction: 'SilentlyContinue' } }, 'parameter ErrorAction is reserved for the agent'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { outvariable: 'x' } }, 'reserved for the agent'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'a\u0000b' } }, 'parameter Identity: value contains a NUL character'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'a\uD800b' } }, 'unpaired UTF-16 surrogate'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'x'.repeat(MAX_STRING_LENGTH + 1) } }, `longer than ${MAX_STRING_LENGTH} characters`],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Port: 1.5 } }, 'parameter Port: 1.5 is not a safe integer'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Port: Number.NaN } }, 'not a safe integer'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Port: 2 ** 60 } }, 'not a safe integer'],
    [{ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: { a: 1 } } }, 'values of type object are not supported'],
  ])('refuses %j', (invocation, message) => {
    const r = encodeInvocation(invocation as never, ALLOW);
    expect(r).toEqual({ ok: false, message: expect.stringContaining(message) as string });
  });

  it('accepts well-formed surrogate pairs, confirm switches and the Confirm:$false idiom', () => {
    const r = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: '😀 \u{1F600}', Confirm: false } }, ALLOW);
    expect(r.ok && decode(r.line).slice(2)).toEqual([`s Identity ${b64('😀 😀')}`, 'b Confirm 0']);
  });
});

describe('refuseString', () => {
  it.each(['', "'", '\r\n', '\u202E', '\uFEFF', 'x'.repeat(10_000)])('lets %j through', (s) => expect(refuseString(s)).toBeUndefined());
});

describe('encodeInitialize / encodeImportPrelude', () => {
  it('carries the module and the allowlist', () => {
    const r = encodeInitialize("C:\\Program Files\\Lync's\\Lync.psd1", ALLOW);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = /^Initialize-LxAgent -Payload '([A-Za-z0-9+/=]+)'$/.exec(r.line);
    expect(Buffer.from(m?.[1] ?? '', 'base64').toString('utf8').split('\n')).toEqual([
      'lx1',
      `module ${b64("C:\\Program Files\\Lync's\\Lync.psd1")}`,
      'allow Get-CsHostingProvider',
      'allow New-CsHostingProvider',
    ]);
  });

  it('refuses a malformed allowlist entry', () => {
    expect(encodeInitialize('Lync', ['Get-CsHostingProvider', 'Get-Cs*'])).toEqual({ ok: false, message: 'allowlist: "Get-Cs*" is not a Verb-Noun name' });
  });

  it('imports the prelude by a base64 path, with no quote from the path in the line', () => {
    const line = encodeImportPrelude("/opt/o'brien/LyncExoAgent.psm1");
    expect(line).not.toContain("o'brien");
    expect(line).toContain(b64("/opt/o'brien/LyncExoAgent.psm1"));
  });
});

describe('parseEnvelope', () => {
  it('reads a success line', () => {
    expect(parseEnvelope('{"ok":true,"output":[{"a":1}]}')).toEqual({ ok: true, envelope: { ok: true, output: [{ a: 1 }] }, noise: 0 });
  });

  it('reads a failure line and ignores console chatter around it', () => {
    const out = 'WARNING: something\r\n{"ok":false,"error":{"message":"m","category":"ResourceExists","errorId":"E","exceptionType":"T","target":null}}\r\n';
    expect(parseEnvelope(out)).toEqual({
      ok: true,
      envelope: { ok: false, error: { message: 'm', category: 'ResourceExists', errorId: 'E', exceptionType: 'T', target: null } },
      noise: 1,
    });
  });

  it.each([
    ['', 'no output at all'],
    ['hello', 'no result line in the output: "hello"'],
    ['{"ok":tru', 'result line is not JSON'],
    ['{"ok":true}', 'result line has an unexpected shape: output'],
    ['{"ok":false,"error":{"message":3}}', 'result line has an unexpected shape: error.message'],
  ])('rejects %j', (out, message) => {
    const r = parseEnvelope(out);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});
