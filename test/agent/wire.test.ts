import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { encodeImportPrelude, encodeInitialize, encodeInvocation, encodeSessionKey, MAX_STRING_LENGTH, parseAnswer, refuseString } from '../../src/agent/wire.js';

const ALLOW = ['Get-CsHostingProvider', 'New-CsHostingProvider'];
const LINE = /^Invoke-LxStep -Payload '([A-Za-z0-9+/=]*)'$/;

/** Decodes what encodeInvocation sent, as the prelude does. */
function decode(line: string): string[] {
  const m = LINE.exec(line);
  if (!m?.[1]) throw new Error(`not an Invoke-LxStep line: ${line}`);
  return Buffer.from(m[1], 'base64').toString('utf8').split('\n');
}
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const ID = '0123456789abcdef0123456789abcdef';
const KEY = Buffer.alloc(32, 7);
/** An answer line as the prelude writes it. */
const answer = (json: string, id = ID, key = KEY) => `lx1r ${id} ${createHmac('sha256', key).update(`${id} ${json}`).digest('hex')} ${json}`;

describe('encodeInvocation', () => {
  it('sends one line with one base64 argument and typed parameters', () => {
    const r = encodeInvocation(
      { cmdlet: 'New-CsHostingProvider', parameters: { Identity: "Exchange 'Online' $(x)", Enabled: true, IsLocal: false, SipClientPort: 443, AutodiscoverUrl: null } },
      ALLOW,
      ID,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.line).toMatch(LINE);
    expect(r.line).not.toMatch(/[\r\n]/);
    expect(decode(r.line)).toEqual([
      'lx1',
      `id ${ID}`,
      'cmdlet New-CsHostingProvider',
      `s Identity ${b64("Exchange 'Online' $(x)")}`,
      'b Enabled 1',
      'b IsLocal 0',
      'i SipClientPort 443',
      'n AutodiscoverUrl',
    ]);
  });

  it('sends the empty string and negative integers', () => {
    const r = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: '', Port: -5, Zero: -0 } }, ALLOW, ID);
    expect(r.ok && decode(r.line)).toEqual(['lx1', `id ${ID}`, 'cmdlet Get-CsHostingProvider', 's Identity ', 'i Port -5', 'i Zero 0']);
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
    const r = encodeInvocation(invocation as never, ALLOW, ID);
    expect(r).toEqual({ ok: false, message: expect.stringContaining(message) as string });
  });

  it('accepts well-formed surrogate pairs, confirm switches and the Confirm:$false idiom', () => {
    const r = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: '😀 \u{1F600}', Confirm: false } }, ALLOW, ID);
    expect(r.ok && decode(r.line).slice(3)).toEqual([`s Identity ${b64('😀 😀')}`, 'b Confirm 0']);
  });
});

describe('refuseString', () => {
  it.each(['', "'", '\r\n', '\u202E', '\uFEFF', 'x'.repeat(10_000)])('lets %j through', (s) => expect(refuseString(s)).toBeUndefined());
});

describe('encodeInitialize / encodeImportPrelude', () => {
  it('carries the module, the allowlist and the projections of allowlisted cmdlets', () => {
    const r = encodeInitialize("C:\\Program Files\\Lync's\\Lync.psd1", ALLOW, { 'Get-CsHostingProvider': ['Identity', 'ProxyFqdn'], 'Get-CsUser': ['Identity'] }, ID);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = /^Initialize-LxAgent -Payload '([A-Za-z0-9+/=]+)'$/.exec(r.line);
    expect(Buffer.from(m?.[1] ?? '', 'base64').toString('utf8').split('\n')).toEqual([
      'lx1',
      `id ${ID}`,
      `module ${b64("C:\\Program Files\\Lync's\\Lync.psd1")}`,
      'allow Get-CsHostingProvider',
      'allow New-CsHostingProvider',
      'project Get-CsHostingProvider Identity,ProxyFqdn',
    ]);
  });

  it('refuses a malformed allowlist entry', () => {
    expect(encodeInitialize('Lync', ['Get-CsHostingProvider', 'Get-Cs*'], {}, ID)).toEqual({ ok: false, message: 'allowlist: "Get-Cs*" is not a Verb-Noun name' });
  });

  it('refuses a projection property that is not a name', () => {
    expect(encodeInitialize('Lync', ALLOW, { 'Get-CsHostingProvider': ['Identity', 'a,b'] }, ID)).toEqual({ ok: false, message: 'projection of Get-CsHostingProvider: "a,b" is not a property name' });
  });

  it('sends the session key as hex inside base64', () => {
    const m = /^Set-LxSessionKey -Payload '([A-Za-z0-9+/=]+)'$/.exec(encodeSessionKey(KEY));
    expect(Buffer.from(m?.[1] ?? '', 'base64').toString('utf8')).toBe(`lx1\nkey ${KEY.toString('hex')}`);
  });

  it('imports the prelude by a base64 path, with no quote from the path in the line', () => {
    const line = encodeImportPrelude("/opt/o'brien/LyncExoAgent.psm1");
    expect(line).not.toContain("o'brien");
    expect(line).toContain(b64("/opt/o'brien/LyncExoAgent.psm1"));
  });
});

describe('parseAnswer', () => {
  it('reads a success line with its warnings', () => {
    expect(parseAnswer(answer('{"ok":true,"output":[{"a":1}],"warnings":["w"]}'), ID, KEY)).toEqual({
      ok: true,
      envelope: { ok: true, output: [{ a: 1 }], warnings: ['w'] },
      noise: 0,
    });
  });

  it('reads a failure line and ignores console chatter and terminal sequences around it', () => {
    const json = '{"ok":false,"error":{"message":"m","category":"ResourceExists","errorId":"E","exceptionType":"T","target":null}}';
    const out = `WARNING: something\r\n\x1b[?1h\x1b=${answer(json)}\x1b[?1l\x1b>\r\n`;
    expect(parseAnswer(out, ID, KEY)).toEqual({
      ok: true,
      envelope: { ok: false, error: { message: 'm', category: 'ResourceExists', errorId: 'E', exceptionType: 'T', target: null } },
      noise: 1,
    });
  });

  it('never takes a line that is not bound to this invocation, wherever it sits', () => {
    const real = answer('{"ok":true,"output":[{"real":true}]}');
    const forgedOk = '{"ok":true,"output":[{"forged":true}]}';
    const forgeries = [
      forgedOk, // the old bare envelope
      `lx1r ${ID} ${'0'.repeat(64)} ${forgedOk}`, // the right id, a made-up MAC
      answer(forgedOk, ID, Buffer.alloc(32, 8)), // a MAC under another key
      answer(forgedOk, 'f'.repeat(32)), // another invocation's answer, replayed
      `lx1r unbound ${forgedOk}`,
    ];
    // before the real answer and after it: only the bound line counts
    const out = [...forgeries, real, ...forgeries].join('\n');
    const r = parseAnswer(out, ID, KEY);
    expect(r.ok && r.envelope).toEqual({ ok: true, output: [{ real: true }] });
    const alone = parseAnswer(forgeries.join('\n'), ID, KEY);
    expect(alone).toEqual({ ok: false, message: 'no answer bound to this invocation (4 unbound or forged answer lines ignored)' });
  });

  it.each([
    ['', 'no output at all'],
    ['hello', 'no answer line in the output: "hello"'],
    ['\x1b[?1hhello\x1b[?1l', 'no answer line in the output: "hello"'],
    [answer('{"ok":true}'), 'answer has an unexpected shape: output'],
    [answer('{"ok":false,"error":{"message":3}}'), 'answer has an unexpected shape: error.message'],
  ])('rejects %j', (out, message) => {
    const r = parseAnswer(out, ID, KEY);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});
