// Shared by the remote-agent tests: a logger that keeps its lines in memory, and an agent's HTTP calls.
import type { Logger } from 'pino';
import { createLogger } from '../../src/log.js';

/** A hosting provider as the agent sends it: the bot checks a remote agent's output against the read's shape. */
export const EXO_PROVIDER = {
  Identity: 'Exchange Online',
  ProxyFqdn: 'exap.um.outlook.com',
  VerificationLevel: 'UseSourceVerification',
  Enabled: true,
  EnabledSharedAddressSpace: true,
  HostsOCSUsers: false,
  IsLocal: false,
};

export interface MemoryLog {
  log: Logger;
  lines: string[];
  /** parsed lines whose msg matches */
  find(msg: RegExp): Record<string, unknown>[];
}

export function memoryLog(level = 'debug'): MemoryLog {
  const lines: string[] = [];
  const log = createLogger(level, { write: (s: string) => void lines.push(s) });
  return {
    log,
    lines,
    find: (msg) =>
      lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((o) => typeof o.msg === 'string' && msg.test(o.msg)),
  };
}

export interface Reply {
  status: number;
  body: unknown;
}

export async function agentPost(base: string, route: string, options: { name?: string; token?: string; body?: unknown; raw?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.name !== undefined) headers['x-lync-exo-agent'] = options.name;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${base}/agents/v1/${route}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(options.body ?? {}) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}
