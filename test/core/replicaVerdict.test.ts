import { describe, expect, it } from 'vitest';
import { replicaVerdict, type ReplicaRow } from '../../src/core/records.js';
import { replicaLines } from '../../src/slack/blocks/steps.js';

const row = (over: Partial<ReplicaRow>): ReplicaRow => ({ fqdn: 'edge01.contoso.local', upToDate: true, lastStatusReport: null, lastUpdateCreation: null, productVersion: null, ...over });

describe('replicaVerdict', () => {
  it.each([
    [{ upToDate: true }, 'yes', true],
    [{ upToDate: false }, 'NO', false],
    [{ upToDate: true, required: true, current: true }, 'yes', true],
    [{ upToDate: true, required: true, current: false }, 'NO (older update)', false],
    [{ upToDate: false, required: true, current: false }, 'NO', false],
    [{ upToDate: false, required: false, current: false }, 'no (not required)', true],
    [{ upToDate: true, required: false }, 'yes (not required)', true],
  ])('%j reads %s', (over, label, ok) => {
    expect(replicaVerdict(row(over))).toEqual({ label, ok });
  });

  it('is what the Slack table shows', () => {
    const lines = replicaLines([row({ fqdn: 'trustedapp01.contoso.local', upToDate: false, required: false }), row({ required: true, current: false })]);
    expect(lines.join('\n')).toMatch(/trustedapp01\.contoso\.local\s+no \(not required\)/);
    expect(lines.join('\n')).toMatch(/edge01\.contoso\.local\s+NO \(older update\)/);
  });
});
