import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveRemoteAgents } from '../../src/config/agents.js';
import { readEnv, redactPaths, SECRET_ENV_NAMES } from '../../src/config/env.js';
import { parseConfig, readConfigFile } from '../../src/config/file.js';
import { ConfigError, inLanguage, loadRunbooks } from '../../src/config/runbooks.js';
import { LOCALES } from '../../src/i18n/index.js';

const example = readFileSync(new URL('../../lync-exo.example.yml', import.meta.url), 'utf8');

const minimal = `deployment: { name: contoso }
approval:
  requesters: { anyone: true }
  approvers: { users: [U0123456789] }
`;

const configError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('config file', () => {
  it('reads the example, every field as written', () => {
    const c = parseConfig(example, 'lync-exo.example.yml');
    expect(c).toEqual({
      deployment: { name: 'contoso' },
      slack: { command: '/lync-exo', channels: ['C0123456789'] },
      approval: {
        requesters: { users: ['U0123456789'], groups: ['S0123456789'], anyone: false },
        approvers: { users: ['U0987654321', 'U0AAAAAAAAA'], groups: [] },
        required: 1,
        expiresAfterMinutes: 60,
      },
      messages: { locale: 'en', timeZone: 'UTC' },
      replication: { pollIntervalSeconds: 10, timeoutSeconds: 300 },
      agents: {
        embedded: { name: 'lync01', host: 'fe01.contoso.local', roles: ['internal', 'edge'], module: 'Lync', powershell: null, env: {}, invocationTimeoutSeconds: 120 },
        remote: [],
        expectedEdges: ['lync01'],
      },
      changeWindows: {
        timeZone: 'Europe/London',
        open: [
          { days: ['sat'], from: '22:00', to: '04:00' },
          { days: ['tue', 'thu'], from: '19:00', to: '21:00' },
        ],
      },
      changeReference: { pattern: 'CHG[0-9]{7}', required: true, example: 'CHG0012345' },
      directory: { accounts: { rule: 'CONTOSO\\{local}', domains: ['contoso.com'] } },
      watch: { schedule: '0 * * * *', timeZone: 'Europe/London', channel: 'C0123ABCDEF' },
    });
  });

  it('fills in defaults for everything left out', () => {
    expect(parseConfig(minimal, 'min.yml')).toEqual({
      deployment: { name: 'contoso' },
      slack: { command: '/lync-exo', channels: [] },
      approval: { requesters: { users: [], groups: [], anyone: true }, approvers: { users: ['U0123456789'], groups: [] }, required: 1, expiresAfterMinutes: 60 },
      messages: { locale: 'en', timeZone: 'UTC' },
      replication: { pollIntervalSeconds: 10, timeoutSeconds: 300 },
      agents: {
        embedded: { name: 'embedded', host: null, roles: ['internal', 'edge'], module: 'Lync', powershell: null, env: {}, invocationTimeoutSeconds: 120 },
        remote: [],
        expectedEdges: [],
      },
    });
  });

  it('takes a simulator module path and turns env numbers into strings', () => {
    const c = parseConfig(`${minimal}agents:\n  embedded:\n    module: ./powershell/LyncSim/LyncSim.psd1\n    env: { LYNCSIM_STATE: ./data/sim.json, LYNCSIM_LAG: 2 }\n`, 'x.yml');
    expect(c.agents.embedded.module).toBe('./powershell/LyncSim/LyncSim.psd1');
    expect(c.agents.embedded.env).toEqual({ LYNCSIM_STATE: './data/sim.json', LYNCSIM_LAG: '2' });
  });

  const edit = (from: string, to: string) => {
    expect(example).toContain(from);
    return example.replace(from, to);
  };

  it.each<[string, string, RegExp]>([
    ['a typo in a key', edit('approvers:\n', 'aprovers:\n'), /^cfg\.yml: approval\.approvers: required; approval: unknown key "aprovers" \(did you mean "approvers"\?\); known keys: requesters, approvers, required, expiresAfterMinutes$/],
    ['an unknown top-level key', `${example}\nextra: 1\n`, /^cfg\.yml: \(top level\): unknown key "extra"/],
    ['no approvers', edit('users: [U0987654321, U0AAAAAAAAA]', 'users: []'), /^cfg\.yml: approval\.approvers: no approvers: list at least one user or group$/],
    ['more approvals required than approvers', edit('required: 1', 'required: 3'), /^cfg\.yml: approval\.required: 3 approvals required but only 2 approver\(s\) listed/],
    ['required out of range', edit('required: 1', 'required: 6'), /^cfg\.yml: approval\.required: at most 5 approvers/],
    ['a name where a user id belongs', edit('users: [U0987654321, U0AAAAAAAAA]', 'users: [U0987654321, "@alice"]'), /^cfg\.yml: approval\.approvers\.users\[1\]: a Slack user id such as/],
    ['a channel name', edit('channels: [C0123456789]', 'channels: ["#lync-ops"]'), /^cfg\.yml: slack\.channels\[0\]: a Slack channel id/],
    ['a group handle', edit('groups: [S0123456789]', 'groups: [lync-admins]'), /^cfg\.yml: approval\.requesters\.groups\[0\]: a Slack user group id/],
    ['nobody may request', edit('users: [U0123456789]\n    groups: [S0123456789]', 'users: []\n    groups: []'), /^cfg\.yml: approval\.requesters: nobody may request changes/],
    ['a string for a boolean', edit('anyone: false', 'anyone: no'), /^cfg\.yml: approval\.requesters\.anyone: expected boolean, got string$/],
    ['a fraction of seconds', edit('pollIntervalSeconds: 10', 'pollIntervalSeconds: 2.5'), /^cfg\.yml: replication\.pollIntervalSeconds: a whole number of seconds$/],
    ['poll longer than the timeout', edit('pollIntervalSeconds: 10', 'pollIntervalSeconds: 120').replace('timeoutSeconds: 300', 'timeoutSeconds: 60'), /^cfg\.yml: replication\.pollIntervalSeconds: longer than timeoutSeconds$/],
    ['an unknown role', edit('roles: [internal, edge]', 'roles: [internal, dmz]'), /^cfg\.yml: agents\.embedded\.roles\[1\]: a role: internal or edge$/],
    ['an unknown module', edit('module: Lync', 'module: Exchange'), /^cfg\.yml: agents\.embedded\.module: Lync, SkypeForBusiness, or the path of a module manifest/],
    ['a bad slash command', edit('command: /lync-exo', 'command: lync-exo'), /^cfg\.yml: slack\.command: a slash command such as \/lync-exo/],
    ['an expected Edge that is not an agent', edit('expectedEdges: [lync01]', 'expectedEdges: [edge01]'), /^cfg\.yml: agents\.expectedEdges\[0\]: "edge01" is not an agent \(agents: lync01\)$/],
    ['an expected Edge without the edge role', edit('roles: [internal, edge]', 'roles: [internal]'), /^cfg\.yml: agents\.expectedEdges\[0\]: agent "lync01" does not have the edge role$/],
    ['two agents with one name', edit('remote: []', 'remote: [{ name: lync01, roles: [edge] }]'), /^cfg\.yml: agents\.remote\[0\]\.name: agent name "lync01" is used twice$/],
    ['no deployment', example.replace(/^deployment:\n.*\n.*\n/m, ''), /^cfg\.yml: deployment: required$/],
    ['a duplicate key', `${example}\nslack: {}\n`, /^cfg\.yml: not valid YAML: Map keys must be unique/],
    ['broken YAML', 'deployment: [', /^cfg\.yml: not valid YAML: /],
    ['a list where a mapping belongs', edit('replication:\n', 'replication: []\nx:\n'), /^cfg\.yml: replication: expected a mapping, got a list; \(top level\): unknown key "x"/],
    ['an empty file', '# nothing yet\n', /^cfg\.yml: the file is empty/],
  ])('names the field: %s', (_what, text, message) => {
    expect(configError(() => parseConfig(text, 'cfg.yml'))).toMatch(message);
  });

  it('reads a file from disk, and names the path of one that is missing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-config-'));
    const file = path.join(dir, 'lync-exo.yml');
    writeFileSync(file, minimal);
    expect(readConfigFile(file).deployment.name).toBe('contoso');
    const missing = path.join(dir, 'nope.yml');
    expect(configError(() => readConfigFile(missing))).toBe(`${missing}: no such file; copy lync-exo.example.yml there and edit it, or point LYNC_EXO_CONFIG at your config file`);
    expect(configError(() => readConfigFile(dir))).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the config file: EISDIR$`));
  });
});

describe('environment', () => {
  const bot = 'xoxb-1111-2222-hunter2botTOKENvalue';
  const app = 'xapp-1-A111-2222-hunter2appTOKENvalue';
  const signing = 'hunter2signing0123456789abcdef';

  it('uses Socket Mode when an app token is set, with the documented defaults', () => {
    expect(readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app })).toEqual({
      slack: { mode: 'socket', botToken: bot, appToken: app },
      configPath: './lync-exo.yml',
      dataDir: './data',
      logLevel: 'info',
      agentTokens: [],
      agentListener: { port: 8443, host: '0.0.0.0', insecure: false, httpHost: '0.0.0.0' },
      opsListener: { port: 9464, host: '127.0.0.1' },
    });
  });

  it('reads the remote agents\' listener and refuses half a TLS pair', () => {
    const tls = readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_PORT: '9443', LYNC_EXO_TLS_CERT: '/etc/c.pem', LYNC_EXO_TLS_KEY: '/etc/k.pem' });
    expect(tls.agentListener).toEqual({ port: 9443, host: '0.0.0.0', insecure: false, httpHost: '0.0.0.0', tls: { certPath: '/etc/c.pem', keyPath: '/etc/k.pem' } });
    expect(readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_INSECURE_HTTP: '1', LYNC_EXO_HOST: '127.0.0.1' }).agentListener).toMatchObject({ insecure: true, httpHost: '127.0.0.1' });
    expect(() => readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_INSECURE_HTTP: signing })).toThrow(/^environment: LYNC_EXO_INSECURE_HTTP: must be 1 \(or 0, or unset\)$/);
    expect(() => readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_TLS_CERT: '/etc/c.pem' })).toThrow(/LYNC_EXO_TLS_CERT and LYNC_EXO_TLS_KEY: set both/);
    expect(() => readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_PORT: '99999' })).toThrow(/LYNC_EXO_AGENT_PORT: must be a port number/);
    expect(readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_METRICS_PORT: '9100', LYNC_EXO_METRICS_HOST: '0.0.0.0' }).opsListener).toEqual({ port: 9100, host: '0.0.0.0' });
    expect(() => readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_METRICS_PORT: 'x' })).toThrow(/LYNC_EXO_METRICS_PORT: must be a port number/);
  });

  it('uses HTTP mode with a signing secret, on PORT', () => {
    expect(readEnv({ SLACK_BOT_TOKEN: ` ${bot}\n`, SLACK_SIGNING_SECRET: signing, PORT: '8080', LOG_LEVEL: 'debug', LYNC_EXO_CONFIG: '/etc/lync-exo.yml', LYNC_EXO_DATA_DIR: '' })).toEqual({
      slack: { mode: 'http', botToken: bot, signingSecret: signing, port: 8080 },
      configPath: '/etc/lync-exo.yml',
      dataDir: './data',
      logLevel: 'debug',
      agentTokens: [],
      agentListener: { port: 8443, host: '0.0.0.0', insecure: false, httpHost: '0.0.0.0' },
      opsListener: { port: 9464, host: '127.0.0.1' },
    });
    expect(readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, SLACK_SIGNING_SECRET: signing, LYNC_EXO_SLACK_MODE: 'http' }).slack.mode).toBe('http');
  });

  it('needs no Slack variables in console and demo modes', () => {
    expect(readEnv({}, 'console').slack).toBeUndefined();
    expect(readEnv({ SLACK_BOT_TOKEN: 'not-a-token' }, 'demo').slack).toBeUndefined();
  });

  it('reads agent tokens', () => {
    expect(readEnv({ LYNC_EXO_AGENT_TOKENS: 'edge01:0123456789abcdefXYZ, edge02:abcdefghijklmnop0' }, 'console').agentTokens).toEqual([
      { name: 'edge01', token: '0123456789abcdefXYZ' },
      { name: 'edge02', token: 'abcdefghijklmnop0' },
    ]);
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['no bot token', { SLACK_APP_TOKEN: app }, /SLACK_BOT_TOKEN: required/],
    ['a bot token that is not one', { SLACK_BOT_TOKEN: app, SLACK_APP_TOKEN: app }, /SLACK_BOT_TOKEN: must be a bot token starting with xoxb- \(it looks like an app-level token, xapp-\)/],
    ['an app token that is not one', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: bot }, /SLACK_APP_TOKEN: must be an app-level token starting with xapp- \(it looks like a bot token, xoxb-\)/],
    ['neither app token nor signing secret', { SLACK_BOT_TOKEN: bot }, /SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is required/],
    ['socket mode without an app token', { SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing, LYNC_EXO_SLACK_MODE: 'socket' }, /SLACK_APP_TOKEN: required for Socket Mode/],
    ['http mode without a signing secret', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_SLACK_MODE: 'http' }, /SLACK_SIGNING_SECRET: required for HTTP mode/],
    ['an unknown mode', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_SLACK_MODE: signing }, /^environment: LYNC_EXO_SLACK_MODE: must be socket or http$/],
    ['a bad port', { SLACK_BOT_TOKEN: bot, SLACK_SIGNING_SECRET: signing, PORT: '70000' }, /^environment: PORT: must be a port number from 1 to 65535$/],
    ['a bad log level', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LOG_LEVEL: signing }, /^environment: LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent$/],
    ['an agent token entry without a name', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_TOKENS: signing }, /^LYNC_EXO_AGENT_TOKENS: entry 1 is not name:token$/],
    ['a short agent token', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_TOKENS: `edge01:${signing},edge02:hunter2shrt` }, /^LYNC_EXO_AGENT_TOKENS: entry 2: the token is shorter than 16 characters$/],
    // written token:name, the token looks like a name: it must not be printed as one
    ['an agent token written the wrong way round', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_TOKENS: `${signing}:edge01` }, /^LYNC_EXO_AGENT_TOKENS: entry 1: the token is shorter than 16 characters$/],
    ['an agent listed twice', { SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_TOKENS: `${signing}:${signing}0,${signing}:${signing}1` }, /^LYNC_EXO_AGENT_TOKENS: entry 2 names the same agent as entry 1$/],
  ])('names the variable, never its value: %s', (_what, env, message) => {
    const text = configError(() => readEnv(env));
    expect(text).toMatch(message);
    for (const secret of [bot, app, signing, 'hunter2']) expect(text).not.toContain(secret);
  });

  describe('remote agents: agents.remote with their tokens', () => {
    const remote = [
      { name: 'fe01', roles: ['internal' as const] },
      { name: 'edge01', roles: ['edge' as const], tokenEnv: 'LYNC_EXO_TOKEN_EDGE01' },
    ];
    const feToken = 'hunter2fe01token0123456789';
    const edgeToken = 'hunter2edge01token0123456789';

    it('takes each token from LYNC_EXO_AGENT_TOKENS or from the variable its entry names', () => {
      const listed = readEnv({ LYNC_EXO_AGENT_TOKENS: `fe01:${feToken}` }, 'console').agentTokens;
      expect(resolveRemoteAgents(remote, listed, { LYNC_EXO_TOKEN_EDGE01: ` ${edgeToken} ` })).toEqual([
        { name: 'fe01', roles: ['internal'], token: feToken },
        { name: 'edge01', roles: ['edge'], token: edgeToken },
      ]);
      expect(resolveRemoteAgents([], [], {})).toEqual([]);
    });

    it.each<[string, { name: string; token: string }[], NodeJS.ProcessEnv, RegExp]>([
      ['a token without an entry', [{ name: 'fe01', token: feToken }, { name: 'rogue01', token: `${feToken}x` }], { LYNC_EXO_TOKEN_EDGE01: edgeToken }, /^remote agents: LYNC_EXO_AGENT_TOKENS: entry 2 has no agents.remote entry in the config file \(configured: fe01, edge01\); a token without one is refused$/],
      ['an entry without a token', [], { LYNC_EXO_TOKEN_EDGE01: edgeToken }, /^remote agents: agents.remote\[0\] \(fe01\): no token: set tokenEnv/],
      ['a tokenEnv that is not set', [{ name: 'fe01', token: feToken }], {}, /^remote agents: agents.remote\[1\] \(edge01\): tokenEnv: the variable LYNC_EXO_TOKEN_EDGE01 is not set$/],
      ['a short token in tokenEnv', [{ name: 'fe01', token: feToken }], { LYNC_EXO_TOKEN_EDGE01: 'hunter2' }, /agents.remote\[1\] \(edge01\): the token in LYNC_EXO_TOKEN_EDGE01 is shorter than 16 characters/],
      ['a token given twice', [{ name: 'fe01', token: feToken }, { name: 'edge01', token: edgeToken }], { LYNC_EXO_TOKEN_EDGE01: edgeToken }, /agents.remote\[1\] \(edge01\): its token is given twice/],
      ['two agents with one token', [{ name: 'fe01', token: edgeToken }], { LYNC_EXO_TOKEN_EDGE01: edgeToken }, /agents.remote\[1\] \(edge01\): the same token as agent fe01/],
    ])('refuses to start with %s, naming the entry and never a token', (_what, listed, env, message) => {
      const text = configError(() => resolveRemoteAgents(remote, listed, env));
      expect(text).toMatch(message);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('rogue01');
    });

    it('reads tokenEnv from the config file as a variable name, never as a token', () => {
      const base = { deployment: { name: 'contoso' }, approval: { requesters: { anyone: true }, approvers: { users: ['U0123ABCDEF'] } } };
      expect(() => parseConfig(JSON.stringify({ ...base, agents: { remote: [{ name: 'edge01', roles: ['edge'], tokenEnv: 'hunter2-not-a-name!' }] } }), 'c.yml')).toThrow(/tokenEnv: the name of an environment variable/);
      const text = configError(() => parseConfig(JSON.stringify({ ...base, agents: { remote: [{ name: 'edge01', roles: ['edge'], tokenEnv: 'hunter2-not-a-name!' }] } }), 'c.yml'));
      expect(text).not.toContain('hunter2');
    });
  });

  it('lists the secret variables, and pino redacts them wherever the env object is logged', () => {
    expect([...SECRET_ENV_NAMES]).toEqual(['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'LYNC_EXO_AGENT_TOKENS']);
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
    const log = pino({ redact: redactPaths }, sink);
    const env = readEnv({ SLACK_BOT_TOKEN: bot, SLACK_APP_TOKEN: app, LYNC_EXO_AGENT_TOKENS: `edge01:${signing}` });
    log.info({ env }, 'config');
    log.info(env, 'config');
    log.info({ slack: env.slack }, 'slack');
    log.info({ req: { headers: { authorization: `Bearer ${bot}` } } }, 'request');
    log.info({ env: { SLACK_SIGNING_SECRET: signing } }, 'raw env');
    // the remote agents as resolved, and an agent's own settings
    log.info({ agents: [{ name: 'edge01', roles: ['edge'], token: signing }] }, 'agents');
    log.info({ hub: { agents: [{ name: 'edge01', token: signing }] } }, 'hub');
    log.info({ settings: { name: 'edge01', token: signing } }, 'agent');
    expect(lines).toHaveLength(8);
    for (const line of lines) {
      expect(line).not.toContain('hunter2');
      expect(line).toContain('[Redacted]');
    }
  });
});

describe('messages', () => {
  const base = 'deployment: { name: contoso }\napproval: { requesters: { anyone: true }, approvers: { users: [U0123456789] } }\n';
  it('takes a language lync-exo speaks and a time zone Intl knows', () => {
    expect(parseConfig(`${base}messages: { locale: zh-TW, timeZone: Asia/Taipei }\n`, 'x.yml').messages).toEqual({ locale: 'zh-TW', timeZone: 'Asia/Taipei' });
  });
  it('names what is wrong with either', () => {
    expect(() => parseConfig(`${base}messages: { locale: fr, timeZone: Mars/Olympus }\n`, 'x.yml')).toThrow(
      'x.yml: messages.locale: a language lync-exo speaks: en or zh-TW; messages.timeZone: Mars/Olympus is not a time zone name such as UTC, Asia/Taipei or Europe/London',
    );
  });
});

describe('runbook step titles in the channel language', () => {
  it("takes each step's title in the locale where the runbook gives one, the default title otherwise", () => {
    const runbooks = loadRunbooks();
    const zh = inLanguage(runbooks, 'zh-TW', LOCALES);
    expect(zh.get('setup')!.steps.map((s) => s.title)).toEqual(['允許同盟使用者（共用 SIP 位址空間）', 'Exchange Online 的裝載提供者', '中央管理存放區複寫', '各 Edge Server 本機存放區中的裝載提供者']);
    expect(inLanguage(runbooks, 'en', LOCALES).get('setup')!.steps[0]!.title).toBe('Allow federated users (shared SIP address space)');
    // the loaded runbooks are not changed
    expect(runbooks.get('setup')!.steps[0]!.title).toBe('Allow federated users (shared SIP address space)');
  });

  it('refuses a title in a language lync-exo does not speak, naming the file and the step', () => {
    const runbooks = loadRunbooks();
    const setup = runbooks.get('setup')!;
    const bad = new Map([...runbooks, ['setup', { ...setup, steps: setup.steps.map((s, i) => (i === 0 ? { ...s, titles: { fr: 'Autoriser la fédération' } } : s)) }]]);
    expect(() => inLanguage(bad, 'en', LOCALES)).toThrow(new ConfigError('commands/setup.yml: step shared-sip-address-space: titles in fr: lync-exo speaks en and zh-TW'));
  });
});
