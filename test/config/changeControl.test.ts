// The policy's change-control sections: change windows, change references, the directory mapping and the drift
// watch. Each mistake is refused at start-up with the field and what is wrong; a good section becomes the policy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { policyFromConfig } from '../../src/compose.js';
import { parseAccountsCsv, parseConfig, readConfigFile } from '../../src/config/file.js';
import { ConfigError } from '../../src/config/runbooks.js';

const minimal = `deployment: { name: contoso }\napproval:\n  requesters: { anyone: true }\n  approvers: { users: [U0123456789] }\n`;

const refusal = (text: string): string => {
  try {
    parseConfig(text, 'cfg.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('change-control policy', () => {
  it.each([
    ['an unknown zone', 'changeWindows: { timeZone: Mars/Base, open: [{ days: [sat], from: "22:00", to: "02:00" }] }', /changeWindows\.timeZone: an IANA time zone/],
    ['a bad hour', 'changeWindows: { timeZone: UTC, open: [{ days: [sat], from: "25:00", to: "02:00" }] }', /changeWindows\.open\[0\]\.from: a time of day HH:MM/],
    ['a bad day', 'changeWindows: { timeZone: UTC, open: [{ days: [saturday], from: "22:00", to: "02:00" }] }', /changeWindows\.open\[0\]\.days\[0\]: a day: sun, mon/],
    ['no window', 'changeWindows: { timeZone: UTC, open: [] }', /changeWindows\.open: at least one window/],
    ['a bad pattern', 'changeReference: { pattern: "CHG[0-9" }', /changeReference\.pattern: a regular expression/],
    ['an example that does not match', 'changeReference: { pattern: "CHG[0-9]{7}", example: CHG1 }', /changeReference\.example: "CHG1" does not match the pattern CHG\[0-9\]\{7\}/],
    ['a bad cron', 'watch: { schedule: "every hour", channel: C0123456789 }', /watch\.schedule: not a cron schedule such as "0 \* \* \* \*"/],
    ['a watch channel by name', 'watch: { schedule: "0 * * * *", channel: "#ops" }', /watch\.channel: a Slack channel id/],
    ['an account rule without a placeholder', 'directory: { accounts: { rule: CONTOSO } }', /directory\.accounts\.rule: a rule with \{local\}/],
    ['an empty mapping', 'directory: { accounts: {} }', /directory\.accounts: give a rule, a file, or both/],
  ])('refuses %s', (_what, section, message) => {
    expect(refusal(`${minimal}${section}\n`)).toMatch(message);
  });

  it('reads the account table beside the config file and hands every section to the policy', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-cfg-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'accounts.csv'), 'email,account\n# the exceptions to the rule\nAlice@Contoso.com,CONTOSO\\asmith\n\n');
    const file = path.join(dir, 'lync-exo.yml');
    writeFileSync(
      file,
      `${minimal}changeWindows: { timeZone: Asia/Taipei, open: [{ days: [fri], from: "23:00", to: "01:00" }] }\nchangeReference: { pattern: "CHG[0-9]{7}" }\ndirectory: { accounts: { rule: "CONTOSO\\\\{local}", file: accounts.csv } }\nwatch: { schedule: "*/30 * * * *", channel: C0123456789 }\n`,
    );
    const policy = policyFromConfig(readConfigFile(file));
    expect(policy.windows).toEqual({ timeZone: 'Asia/Taipei', open: [{ days: ['fri'], from: '23:00', to: '01:00' }] });
    expect(policy.changeReference).toEqual({ pattern: 'CHG[0-9]{7}', required: true });
    expect(policy.accounts).toEqual({ rule: 'CONTOSO\\{local}', file: 'accounts.csv', table: { 'alice@contoso.com': 'CONTOSO\\asmith' } });
    expect(policy.watch).toEqual({ schedule: '*/30 * * * *', channel: 'C0123456789' });
  });

  it('names the account file and the line that is wrong', () => {
    expect(() => parseAccountsCsv('alice@contoso.com,CONTOSO\\alice\nbob,CONTOSO\\bob\n', 'accounts.csv')).toThrow(/^accounts\.csv: line 2: expected "email,account"/);
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-cfg-'));
    dirs.push(dir);
    const file = path.join(dir, 'lync-exo.yml');
    writeFileSync(file, `${minimal}directory: { accounts: { file: missing.csv } }\n`);
    expect(() => readConfigFile(file)).toThrow(/directory\.accounts\.file: cannot read .*missing\.csv: ENOENT/);
  });
});
