// The manifest, checked against the code: the slash command the app registers and the scopes of the Web API
// methods it calls (found by reading src/slack, so a new call without a scope fails here).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigSchema } from '../../src/config/file.js';
import { loadRunbooks } from '../../src/config/runbooks.js';
import { buildVocabulary, usageHint } from '../../src/core/command/vocabulary.js';
import { METHOD_SCOPES, requiredScopes } from '../../src/slack/scopes.js';

const root = path.resolve(import.meta.dirname, '..', '..');

const ManifestSchema = z.object({
  display_information: z.object({ name: z.string().min(1).max(35) }),
  features: z.object({
    app_home: z.object({ home_tab_enabled: z.boolean(), messages_tab_enabled: z.boolean() }).optional(),
    bot_user: z.object({ display_name: z.string().min(1).max(80) }),
    slash_commands: z
      .array(
        z.object({
          command: z.string().regex(/^\/[a-z0-9_-]+$/).max(32),
          description: z.string().min(1).max(2000),
          usage_hint: z.string().max(1000),
          url: z.url().optional(),
        }),
      )
      .min(1),
  }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()) }) }),
  settings: z.object({
    event_subscriptions: z.object({ request_url: z.url().optional(), bot_events: z.array(z.string()) }).optional(),
    interactivity: z.object({ is_enabled: z.literal(true), request_url: z.url().optional() }),
    socket_mode_enabled: z.boolean(),
  }),
});

const manifest = ManifestSchema.parse(parse(readFileSync(path.join(root, 'manifest.yml'), 'utf8')));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every `client.<group>.<method>(` call in src/slack. */
function calledMethods(): string[] {
  const found = new Set<string>();
  for (const file of sources(path.join(root, 'src', 'slack'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bclient\s*\.\s*([a-zA-Z]+(?:\s*\.\s*[a-zA-Z]+)+)\s*\(/g)) found.add(m[1]!.replace(/\s/g, ''));
  }
  return [...found].sort();
}

/** Every `app.event('<name>'` the listeners register. */
function subscribedEvents(): string[] {
  const found = new Set<string>();
  for (const file of sources(path.join(root, 'src', 'slack'))) for (const m of readFileSync(file, 'utf8').matchAll(/\bapp\.event\(\s*'([a-z_]+)'/g)) found.add(m[1]!);
  return [...found].sort();
}

describe('manifest.yml', () => {
  it('subscribes to exactly the events the listeners take, and enables the Home tab they draw', () => {
    expect(subscribedEvents()).toEqual(['app_home_opened']);
    expect([...(manifest.settings.event_subscriptions?.bot_events ?? [])].sort()).toEqual(subscribedEvents());
    expect(manifest.features.app_home?.home_tab_enabled).toBe(true);
  });

  it('has the fields Slack needs', () => {
    expect(manifest.display_information.name).toBe('lync-exo');
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('declares the slash command the app registers by default', () => {
    const registered = ConfigSchema.shape.slack.parse(undefined).command;
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([registered]);
  });

  it("the usage hint is the vocabulary's: every subcommand the runbooks make, with its arguments", () => {
    const hint = usageHint(buildVocabulary(loadRunbooks()));
    expect(manifest.features.slash_commands[0]!.usage_hint).toBe(hint);
    expect(hint).toContain('setup [--cloud worldwide|21vianet|gcchigh] [--identity NAME]');
    expect(hint).toContain('help [SUBCOMMAND]');
  });

  it('the source scan finds the calls it should (guards the scan itself)', () => {
    expect(calledMethods()).toEqual(expect.arrayContaining(['chat.postMessage', 'views.open', 'usergroups.users.list']) as unknown);
  });

  it('every Web API method called in src/slack has a row in METHOD_SCOPES', () => {
    expect(calledMethods().filter((m) => !(m in METHOD_SCOPES))).toEqual([]);
  });

  it('METHOD_SCOPES has no stale rows', () => {
    expect(Object.keys(METHOD_SCOPES).sort()).toEqual(calledMethods());
  });

  it('asks for exactly the bot scopes the code needs', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(requiredScopes());
    expect(requiredScopes()).toEqual(['chat:write', 'commands', 'usergroups:read', 'users:read', 'users:read.email']);
  });
});
