// Bolt logs as `(msg, err)`, pino as `(obj, msg)`: adapted once, here, so every Bolt line is a pino JSON line
// with the error under `err` (and through pino's redaction).
import { inspect } from 'node:util';
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

type Level = 'debug' | 'info' | 'warn' | 'error';

export function boltLogger(log: Logger, name = 'bolt'): BoltLogger {
  let current = log.child({ component: name });
  const write =
    (level: Level) =>
    (...parts: unknown[]): void => {
      // Bolt logs at debug on every request: nothing is formatted for a level that is off (measured in the bench)
      if (!current.isLevelEnabled(level)) return;
      const err = parts.find((p): p is Error => p instanceof Error);
      const text = parts
        .filter((p) => p !== err)
        .map((p) => (typeof p === 'string' ? p : inspect(p, { depth: 3, breakLength: Infinity })))
        .join(' ');
      current[level](err ? { err } : {}, text);
    };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    // Bolt sets its own level from `logLevel`; pino's level (from config) stays the one that counts unless asked
    setLevel: (level: LogLevel) => {
      current.level = level;
    },
    getLevel: () => (Object.values(LogLevel) as string[]).includes(current.level) ? (current.level as LogLevel) : LogLevel.INFO,
    setName: (n: string) => {
      const level = current.level;
      current = log.child({ component: n });
      current.level = level;
    },
  };
}
