import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadRunbooks } from '../../src/config/runbooks.js';
import { editDistance, parseCommand as parse, type Command, type ParseResult } from '../../src/core/command/parse.js';
import { buildVocabulary, usageHint } from '../../src/core/command/vocabulary.js';
import { helpLines, noticeText } from '../../src/labels.js';
import { consoleWords } from '../../src/console/renderView.js';

const vocabulary = buildVocabulary(loadRunbooks());
const parseCommand = (text: string, commandName?: string) => parse(text, vocabulary, commandName);
const marks = consoleWords();
/** the refusal in words, as the labels table says it */
const said = (r: ParseResult): string | undefined => (r.ok ? undefined : noticeText(r.error, marks));

// the verb follows from the subcommand: change runbooks change, verify compares, rollback undoes, status reports
const VERBS: Record<string, Command['verb']> = { setup: 'change', plan: 'plan', verify: 'compare', rollback: 'undo', status: 'report', history: 'history', cancel: 'cancel', help: 'help' };
const RUNBOOKS = new Set(['setup', 'verify', 'rollback', 'status']);
const ok = (command: { name: string } & Record<string, unknown>): ParseResult => {
  const runbook = RUNBOOKS.has(command.name) && command.name !== 'verify' ? { runbook: command.name } : {};
  return { ok: true, value: { verb: VERBS[command.name], ...runbook, ...command } as Command };
};

describe('parseCommand: commands that parse', () => {
  it.each<[string, ParseResult]>([
    ['', ok({ name: 'help' })],
    ['   \t ', ok({ name: 'help' })],
    ['help', ok({ name: 'help' })],
    ['HELP', ok({ name: 'help' })],
    ['status', ok({ name: 'status' })],
    ['  Status  ', ok({ name: 'status' })],
    ['setup', ok({ name: 'setup', options: {} })],
    ['SeTuP --cloud gcchigh', ok({ name: 'setup', options: { cloud: 'gcchigh' } })],
    ['setup --cloud=21vianet', ok({ name: 'setup', options: { cloud: '21vianet' } })],
    ['setup --cloud Moon', ok({ name: 'setup', options: { cloud: 'Moon' } })],
    ['setup --identity "Exchange Online" --cloud worldwide', ok({ name: 'setup', options: { identity: 'Exchange Online', cloud: 'worldwide' } })],
    ["setup --identity 'Exchange Online'", ok({ name: 'setup', options: { identity: 'Exchange Online' } })],
    ['setup --identity “Exchange Online”', ok({ name: 'setup', options: { identity: 'Exchange Online' } })],
    ['setup --identity ‘Exchange Online’', ok({ name: 'setup', options: { identity: 'Exchange Online' } })],
    ['setup --identity=“Exchange Online”', ok({ name: 'setup', options: { identity: 'Exchange Online' } })],
    ['setup --identity O’Brien', ok({ name: 'setup', options: { identity: 'O’Brien' } })],
    ['setup --identity "it\'s here"', ok({ name: 'setup', options: { identity: "it's here" } })],
    ['setup --identity ""', ok({ name: 'setup', options: { identity: '' } })],
    ['setup --identity "--cloud"', ok({ name: 'setup', options: { identity: '--cloud' } })],
    ['setup --identity -x', ok({ name: 'setup', options: { identity: '-x' } })],
    ['setup —cloud gcchigh', ok({ name: 'setup', options: { cloud: 'gcchigh' } })],
    ['setup --CLOUD gcchigh', ok({ name: 'setup', options: { cloud: 'gcchigh' } })],
    ['setup\u00a0--cloud\u00a0gcchigh', ok({ name: 'setup', options: { cloud: 'gcchigh' } })],
    ['plan --cloud worldwide', ok({ name: 'plan', options: { cloud: 'worldwide' } })],
    ['verify --identity x', ok({ name: 'verify', options: { identity: 'x' } })],
    ['rollback', ok({ name: 'rollback' })],
    ['rollback run-1a2b', ok({ name: 'rollback', runId: 'run-1a2b' })],
    ['history', ok({ name: 'history', limit: 10 })],
    ['history 5', ok({ name: 'history', limit: 5 })],
    ['history 100', ok({ name: 'history', limit: 100 })],
    ['history 1', ok({ name: 'history', limit: 1 })],
    ['cancel req_42', ok({ name: 'cancel', requestId: 'req_42' })],
    ['"setup"', ok({ name: 'setup', options: {} })],
    ['verify setup --cloud gcchigh', ok({ name: 'verify', runbook: 'setup', options: { cloud: 'gcchigh' } })],
    ['plan setup', ok({ name: 'plan', runbook: 'setup', options: {} })],
    ['hybrid --cloud dod', { ok: true, value: { verb: 'change', name: 'hybrid', runbook: 'hybrid', options: { cloud: 'dod' } } }],
    ['verify hybrid --cloud dod', ok({ name: 'verify', runbook: 'hybrid', options: { cloud: 'dod' } })],
    ['help setup', { ok: true, value: { verb: 'help', name: 'help', topic: 'setup' } }],
    ['setup --help', { ok: true, value: { verb: 'help', name: 'help', topic: 'setup' } }],
    ['rollback -h', { ok: true, value: { verb: 'help', name: 'help', topic: 'rollback' } }],
  ])('%j', (input, expected) => {
    expect(parseCommand(input)).toEqual(expected);
  });
});

describe('parseCommand: refusals name what is wrong', () => {
  it.each<[string, RegExp]>([
    ['stup', /^unknown subcommand "stup"; did you mean `setup`\? usage: `\/lync-exo setup \[--cloud/],
    ['rollbak', /did you mean `rollback`\?/],
    ['hisotry 3', /did you mean `history`\?/],
    ['STATSU', /did you mean `status`\?/],
    ['deploy', /^unknown subcommand "deploy"; subcommands: setup, hybrid, plan, status, verify, rollback, history, cancel, help/],
    ['verify hybird', /^"hybird" is not a change runbook; did you mean `hybrid`\? \(runbooks: setup, hybrid\)/],
    ['help deploy', /^unknown subcommand "deploy"/],
    ['--cloud gcchigh', /^unknown subcommand "--cloud"/],
    ['setup --identity "Exchange Online', /^the quote " before "Exchange Online" is never closed$/],
    ['setup --identity “Exchange', /^the quote “ before "Exchange" is never closed$/],
    ["setup --identity O'Brien", /^the quote ' before "Brien" is never closed$/],
    ['setup --identity "', /^the quote " at the end is never closed$/],
    ['setup --region emea', /^setup has no option "--region" \(options: --cloud, --identity\)$/],
    ['setup --colour red', /^setup has no option "--colour"; did you mean --cloud\?/],
    ['setup --clod gcchigh', /^setup has no option "--clod"; did you mean --cloud\? \(options: --cloud, --identity\)$/],
    ['setup --cloud gcchigh --cloud worldwide', /^--cloud is given twice$/],
    ['setup --cloud=a --CLOUD b', /^--cloud is given twice$/],
    ['setup --identity', /^--identity needs a value: --identity NAME$/],
    ['setup --identity=', /^--identity needs a value/],
    ['setup --cloud --identity x', /^--cloud needs a value: --cloud worldwide\|21vianet\|gcchigh$/],
    ['setup -cloud gcchigh', /^unknown option "-cloud": options start with two dashes/],
    ['setup now', /^setup takes no argument but options; unexpected "now"; usage:/],
    ['verify hybrid --identity x', /^hybrid has no option "--identity" \(options: --cloud\)$/],
    ['plan setup a b', /^plan takes no arguments but options; unexpected "a", "b"/],
    ['plan a b', /^"a" is not a change runbook/],
    ['status --cloud gcchigh', /^status takes no options; got "--cloud"/],
    ['status now', /^status takes no arguments; got "now"$/],
    ['help me', /^unknown subcommand "me"/],
    ['help setup plan', /^help takes one subcommand; unexpected "plan"/],
    ['history 0', /^history takes a whole number from 1 to 100; got "0"$/],
    ['history 101', /got "101"$/],
    ['history -3', /got "-3"$/],
    ['history 2.5', /got "2\.5"$/],
    ['history ten', /got "ten"$/],
    ['history 1 2', /^history takes one number; unexpected "2"/],
    ['cancel', /^cancel needs the id of a pending request; usage: `\/lync-exo cancel REQUEST_ID`$/],
    ['cancel a b', /^cancel takes one request id; unexpected "b"$/],
    ['cancel "bad id"', /^"bad id" is not a request id/],
    [`cancel ${'a'.repeat(41)}`, /is not a request id \(letters, digits, - and _, at most 40\)$/],
    ['rollback ../etc', /^"\.\.\/etc" is not a run id/],
    ['rollback a b', /^rollback takes at most one run id; unexpected "b"/],
    ['rollback --cloud x', /^rollback takes no options/],
    ['setup\u0000', /^unknown subcommand "setup\\u0000"/],
    [`cancel ${'z'.repeat(100)}`, /^"z{40}…" is not a request id/],
  ])('%j', (input, message) => {
    const r = parseCommand(input);
    expect(r.ok).toBe(false);
    expect(said(r)).toMatch(message);
  });

  it('refuses text longer than any command needs, before reading it', () => {
    expect(said(parseCommand(`x${'y'.repeat(5000)}`))).toBe('the command is 5001 characters long; at most 4000');
  });

  it('uses the configured command name in usage', () => {
    expect(said(parseCommand('cancel', '/lync'))).toMatch(/`\/lync cancel REQUEST_ID`/);
  });
});

describe('vocabulary', () => {
  it('lists every subcommand with its usage, marking the ones that need approval', () => {
    const help = helpLines('/lync-exo', [...vocabulary.subcommands], marks).join('\n');
    expect(help.split('\n')).toHaveLength(vocabulary.subcommands.length + 2);
    expect(help).toContain('`/lync-exo setup [--cloud worldwide|21vianet|gcchigh] [--identity NAME]`: Connect the deployment to Exchange Online');
    expect(help).toMatch(/`\/lync-exo rollback \[RUN_ID\]`: .*\(needs approval\)/);
    expect(help).toContain('`/lync-exo cancel REQUEST_ID`');
    expect(vocabulary.subcommands.filter((s) => s.approval).map((s) => s.name)).toEqual(['setup', 'hybrid', 'rollback']);
  });

  it('is built from the runbooks: a change runbook is a subcommand with its inputs as options', () => {
    expect(vocabulary.subcommands.map((s) => s.name)).toEqual(['setup', 'hybrid', 'plan', 'status', 'verify', 'rollback', 'history', 'cancel', 'help']);
    expect(vocabulary.find('hybrid')).toMatchObject({ verb: 'change', usage: '[--cloud worldwide|21vianet|gcchigh|dod]', approval: true });
    expect(vocabulary.defaultProcedure?.name).toBe('setup');
    expect(usageHint(vocabulary)).toMatch(/^setup \[--cloud worldwide\|21vianet\|gcchigh\] \[--identity NAME\] \| hybrid \[--cloud worldwide\|21vianet\|gcchigh\|dod\] \| plan \[RUNBOOK\] \[OPTIONS\] \| status \| verify/);
  });

  it('parses every subcommand name it lists', () => {
    for (const s of vocabulary.subcommands) expect(parseCommand(s.name).ok || s.name === 'cancel').toBe(true);
  });

  it.each([
    ['stup', 'setup', 1],
    ['hisotry', 'history', 1],
    ['abcd', 'abcd', 0],
    ['ab', 'ba', 1],
    ['ca', 'abc', 3], // optimal string alignment: no edit inside a swapped pair
    ['', 'help', 4],
  ])('edit distance %s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe('parseCommand properties', () => {
  const wellFormed = (r: ParseResult) => (r.ok ? typeof r.value.name === 'string' : (said(r) ?? '').length > 0);

  it('never throws, and answers either a command or a message, on any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', "'", '“', '”', '‘', '’', ' ', '-', '=', 'a', '\u0000', '\ud800', '\udc00') })), (text) => {
        expect(wellFormed(parseCommand(text))).toBe(true);
        for (const sub of ['setup ', 'history ', 'cancel ', 'rollback ', 'setup --identity ']) expect(wellFormed(parseCommand(sub + text))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('copes with huge text and lone surrogates', () => {
    expect(wellFormed(parseCommand('setup --identity "'.padEnd(100_000, 'x')))).toBe(true);
    expect(wellFormed(parseCommand('\ud800 \udfff "\udc00'))).toBe(true);
    expect(wellFormed(parseCommand('\u0000'.repeat(100_000)))).toBe(true);
  });

  it('gives back an identity quoted in setup --identity "…" as typed', () => {
    const identity = fc
      .string({ unit: fc.constantFrom(...'abcXYZ019 .-_$()`@#&;:/\\äö漢😀'.split(/(?:)/u)), minLength: 1, maxLength: 60 })
      .filter((s) => !/["'“”„‟‘]/.test(s));
    fc.assert(
      fc.property(identity, fc.constantFrom(['"', '"'], ['“', '”'], ["'", "'"], ['‘', '’']), (id, [open, close]) => {
        expect(parseCommand(`setup --identity ${open}${id}${close}`)).toEqual(ok({ name: 'setup', options: { identity: id } }));
        expect(parseCommand(`plan --identity=${open}${id}${close} --cloud gcchigh`)).toEqual(ok({ name: 'plan', options: { identity: id, cloud: 'gcchigh' } }));
      }),
    );
  });
});
