// What the composition root needs from the Slack adapter. Order: ports first (the core needs a Notifier and a
// Directory), then the core, then the app that feeds the core:
//   const ports = createSlackPorts({ env: env.slack, log, command: config.slack.command });
//   const { service } = compose({ ..., notifier: ports.notifier, directory: ports.directory });
//   const slack = createSlackApp({ env: env.slack, config, service, log }); await slack.start();
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackEnv } from '../config/env.js';
import { createWebClient } from './app.js';
import { SlackDirectory } from './directory.js';
import { DEFAULT_LANGUAGE, SlackLanguages, type LanguagePolicy } from './language.js';
import { SlackPeople } from './people.js';
import { SlackNotifier } from './notifier.js';

export interface SlackPorts {
  client: webApi.WebClient;
  notifier: SlackNotifier;
  directory: SlackDirectory;
  /** pass to createSlackApp too: one cache of people */
  languages: SlackLanguages;
}

export function createSlackPorts(options: { env: SlackEnv; log: Logger; command: string; clientOptions?: webApi.WebClientOptions; language?: LanguagePolicy }): SlackPorts {
  const client = createWebClient(options.env, options.log, options.clientOptions);
  // one users.info per person serves both their language and their directory identity
  const people = new SlackPeople(client, options.log);
  const languages = new SlackLanguages(people, options.language ?? DEFAULT_LANGUAGE);
  return { client, notifier: new SlackNotifier(client, options.log, { command: options.command }, languages), directory: new SlackDirectory(client, options.log, { people }), languages };
}

export { createSlackApp, type CreateSlackAppOptions, type SlackApp } from './app.js';
export { renderView } from './blocks/renderView.js';
