// The Bolt app: Socket Mode (outbound only, the default for on-premises hosts; readEnv picks it when an app-level
// token is set) or HTTP with Slack's request signature checked on every request. Transport only; listeners translate.
import { App, HTTPReceiver, SocketModeReceiver, webApi, type CustomRoute, type Receiver } from '@slack/bolt';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { SlackEnv } from '../config/env.js';
import { closeServer, createBoundedServer, DEFAULT_HTTP_BOUNDS, listen as listenOn, type HttpBounds, type TlsFiles } from '../http/bounded.js';
import type { Config } from '../config/file.js';
import type { DeliveryStore } from '../core/deliveries.js';
import { boltLogger } from './boltLogger.js';
import { boundedClientOptions, WEB_API_TIMEOUT_MS } from './client.js';
import { registerListeners, type SlackService } from './listeners/index.js';
import type { HomeSource } from '../home.js';
import { SlackLanguages } from './language.js';
import { SlackPeople } from './people.js';
import type { ApiErrorHook } from './listeners/types.js';
import { firstDelivery } from './listeners/deliveries.js';
import { oncePerDelivery } from './listeners/once.js';
import { ResponseUrlBudget } from './reply.js';
import { guardRequests } from './requestGuard.js';

export type { SlackEnv };

export interface CreateSlackAppOptions {
  env: SlackEnv;
  config: { slack: Pick<Config['slack'], 'command'> };
  service: SlackService;
  log: Logger;
  /** tests: retries off, slackApiUrl */
  clientOptions?: webApi.WebClientOptions;
  /** tests: skip auth.test by naming the bot */
  bot?: { botId: string; botUserId: string };
  /** Socket Mode: reconnect after a drop (default true; tests turn it off) */
  autoReconnect?: boolean;
  /** HTTP mode: more routes on Slack's listener (the remote agents' endpoints) */
  customRoutes?: CustomRoute[];
  /** HTTP mode: the address to bind (default 0.0.0.0), TLS, and the bounds applied before a signature is checked */
  http?: { host?: string; tls?: TlsFiles; bounds?: Partial<HttpBounds> };
  /** tests: the fetch response_url answers go through */
  fetch?: typeof fetch;
  /** whose language (shared with the notifier: one cache of locales); default: English, over Bolt's client */
  languages?: SlackLanguages;
  /** what the App Home tab shows (home.ts homeSource) */
  home?: HomeSource;
  /** told of every Web API call a listener makes that fails (metrics: Slack errors by method and code) */
  onApiError?: ApiErrorHook;
  /** where deliveries taken are recorded (the store, so a retry reaching another instance is dropped); memory by default */
  deliveries?: DeliveryStore;
}

export interface SlackApp {
  app: App;
  mode: 'socket' | 'http';
  /** HTTP: resolves with the listening server; Socket Mode: once connected. */
  start(listen?: { port: number; host?: string }): Promise<unknown>;
  stop(): Promise<void>;
  /** Socket Mode: the WebSocket to Slack is open; HTTP mode: the listener is up (for /readyz) */
  connected(): boolean;
}

export function createSlackApp(options: CreateSlackAppOptions): SlackApp {
  const { env, config, service, log } = options;
  const logger = boltLogger(log);
  const mode = env.mode;
  const bounds: HttpBounds = { ...DEFAULT_HTTP_BOUNDS, ...options.http?.bounds };
  let server: Server | undefined;
  const slackLog = log.child({ component: 'slack' });
  let receiver: Receiver;
  if (env.mode === 'socket') {
    receiver = new SocketModeReceiver({
      appToken: env.appToken,
      logger,
      autoReconnectEnabled: options.autoReconnect ?? true,
      // the socket's own client keeps its reconnect retries (apps.connections.open); each call is still bounded
      installerOptions: { clientOptions: { timeout: WEB_API_TIMEOUT_MS, ...options.clientOptions } },
    });
  } else {
    // signature, timestamps both ways and the payload's shape are checked before Bolt reads the body
    // (requestGuard.ts), so Bolt's own check of the same signature is off: it was the costliest step of an ack
    // (its constant-time compare draws random bytes for every request). Every POST to the endpoint passes the guard.
    // The bounded listener in start() limits time and size before that.
    const http = new HTTPReceiver({ signingSecret: env.signingSecret, signatureVerification: false, logger, endpoints: '/slack/events', port: env.port, customRoutes: options.customRoutes ?? [], bodyLimit: bounds.maxBodyBytes });
    http.requestListener = guardRequests(http.requestListener, {
      signingSecret: env.signingSecret,
      endpoints: ['/slack/events'],
      onRefused: (status, reason) => slackLog.warn({ status, reason }, `slack: refused a request: ${reason}`),
    });
    receiver = http;
  }
  const app = new App({
    receiver,
    token: env.botToken,
    logger,
    clientOptions: boundedClientOptions(options.clientOptions),
    ...(options.bot ? { tokenVerificationEnabled: false, botId: options.bot.botId, botUserId: options.bot.botUserId } : {}),
  });
  const first = firstDelivery(options.deliveries, slackLog);
  app.use(oncePerDelivery(slackLog, first));
  const languages = options.languages ?? new SlackLanguages(new SlackPeople(app.client, slackLog));
  registerListeners(app, { service, log: slackLog, command: config.slack.command, budget: new ResponseUrlBudget(), firstDelivery: first, languages, ...(options.home ? { home: options.home } : {}), ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.onApiError ? { onApiError: options.onApiError } : {}) });
  // listeners catch their own errors (guard.ts); this catches what escapes them, such as a failed ack
  app.error(async (err) => {
    slackLog.error({ err, code: err.code }, `slack: unhandled error in a listener: ${err.message}`);
  });
  // --- readiness (issue 13): what /readyz reports as "Slack connected"
  let connected = false;
  if (receiver instanceof SocketModeReceiver) {
    receiver.client.on('connected', () => (connected = true));
    for (const state of ['disconnected', 'reconnecting', 'disconnecting']) receiver.client.on(state, () => (connected = false));
  }
  return {
    app,
    mode,
    connected: () => connected,
    async start(listen) {
      if (env.mode === 'http') {
        // our own listener, not Bolt's: its bounds apply before Bolt buffers a body to check its signature
        const http = receiver as HTTPReceiver;
        const bounded = createBoundedServer({ bounds, tls: options.http?.tls, log, name: 'slack' }, (req, res) => {
          try {
            http.requestListener(req, res);
          } catch {
            // an unknown route: Bolt throws to say so
            if (!res.headersSent) {
              res.writeHead(404);
              res.end();
            }
          }
        });
        const port = listen?.port ?? env.port;
        const host = listen?.host ?? options.http?.host ?? '0.0.0.0';
        await listenOn(bounded, port, host);
        server = bounded;
        connected = true;
        log.info({ mode, port: listen?.port ?? env.port, host, tls: !!options.http?.tls }, 'slack: listening for signed HTTP requests');
        return bounded;
      }
      const res = await app.start();
      log.info({ mode }, 'slack: connected over Socket Mode');
      return res;
    },
    async stop() {
      connected = false;
      if (env.mode === 'http') {
        if (server) await closeServer(server);
        server = undefined;
        return;
      }
      await (app.stop() as Promise<void>);
    },
  };
}

/** The WebClient the notifier and directory use (the same options Bolt's own client gets). */
export function createWebClient(env: SlackEnv, log: Logger, clientOptions: webApi.WebClientOptions = {}): webApi.WebClient {
  return new webApi.WebClient(env.botToken, { logger: boltLogger(log, 'slack-web'), ...boundedClientOptions(clientOptions) });
}
