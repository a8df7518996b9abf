// `--change REF` on the command line, and the policy's check of it: what parses, and what is refused and why.
import { describe, expect, it } from 'vitest';
import { loadRunbooks } from '../../src/config/runbooks.js';
import { parseCommand } from '../../src/core/command/parse.js';
import { buildVocabulary } from '../../src/core/command/vocabulary.js';
import { checkChangeReference } from '../../src/core/policy.js';
import { testPolicy } from '../support/world.js';

const vocabulary = buildVocabulary(loadRunbooks());
const parse = (text: string) => parseCommand(text, vocabulary);

describe('--change on the command line', () => {
  it('goes with a change, its dry run and a rollback, in either spelling, among the other options', () => {
    expect(parse('setup --change CHG0012345 --cloud gcchigh')).toEqual({ ok: true, value: { verb: 'change', name: 'setup', runbook: 'setup', options: { cloud: 'gcchigh' }, change: 'CHG0012345' } });
    expect(parse('plan hybrid --cloud dod --change=CHG0012345')).toEqual({ ok: true, value: { verb: 'plan', name: 'plan', runbook: 'hybrid', options: { cloud: 'dod' }, change: 'CHG0012345' } });
    expect(parse('rollback run-3 --change CHG0012345')).toEqual({ ok: true, value: { verb: 'undo', name: 'rollback', runbook: 'rollback', runId: 'run-3', change: 'CHG0012345' } });
    expect(parse('rollback --change CHG0012345')).toEqual({ ok: true, value: { verb: 'undo', name: 'rollback', runbook: 'rollback', change: 'CHG0012345' } });
    // none given: no field
    expect(parse('setup')).toEqual({ ok: true, value: { verb: 'change', name: 'setup', runbook: 'setup', options: {} } });
  });

  it('is refused without a value, twice, or where nothing changes', () => {
    expect(parse('setup --change')).toMatchObject({ ok: false, error: { code: 'bad-command', problem: '--change needs the change reference: --change CHG0012345' } });
    expect(parse('setup --change --cloud gcchigh')).toMatchObject({ ok: false, error: { problem: expect.stringMatching(/--change needs the change reference/) as string } });
    expect(parse('setup --change A --change B')).toMatchObject({ ok: false, error: { problem: '--change is given twice' } });
    expect(parse('status --change CHG0012345')).toMatchObject({ ok: false, error: { code: 'bad-command', problem: expect.stringMatching(/^status takes no options/) as string } });
    expect(parse('verify --change CHG0012345')).toMatchObject({ ok: false, error: { problem: expect.stringMatching(/has no option "--change"/) as string } });
  });
});

describe('the policy on change references', () => {
  const policy = testPolicy({ changeReference: { required: true, pattern: 'CHG[0-9]{7}', example: 'CHG0012345' } });

  it('needs one when required, names the pattern when it does not match, and matches the whole reference', () => {
    expect(checkChangeReference(policy, undefined)).toEqual({ ok: false, error: { code: 'change-reference-needed', pattern: 'CHG[0-9]{7}', example: 'CHG0012345' } });
    expect(checkChangeReference(policy, 'CHG0012345')).toEqual({ ok: true, value: 'CHG0012345' });
    expect(checkChangeReference(policy, 'CHG00123456')).toEqual({ ok: false, error: { code: 'bad-change-reference', given: 'CHG00123456', pattern: 'CHG[0-9]{7}', example: 'CHG0012345' } });
    // a|b patterns are anchored as a whole
    expect(checkChangeReference(testPolicy({ changeReference: { required: false, pattern: 'CHG[0-9]+|INC[0-9]+' } }), 'XINC1')).toMatchObject({ ok: false, error: { code: 'bad-change-reference' } });
  });

  it('without a policy: optional, kept as given; text that has no place in a message is refused', () => {
    expect(checkChangeReference(testPolicy(), undefined)).toEqual({ ok: true, value: undefined });
    expect(checkChangeReference(testPolicy(), 'ticket 42')).toEqual({ ok: true, value: 'ticket 42' });
    expect(checkChangeReference(testPolicy(), 'CHG\u202e1')).toMatchObject({ ok: false, error: { code: 'bad-option', problem: expect.stringMatching(/--change contains the control or direction character U\+202E/) as string } });
  });
});
