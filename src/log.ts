// pino, with every place a secret could sit redacted: tokens and the signing secret never reach a log line.
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactPaths } from './config/env.js';

/** The config's secret paths, plus the agent child's environment, which the bot never needs to see in a log. */
export const REDACT_PATHS = [...redactPaths, 'authorization', '*.authorization', 'req.headers.authorization', 'env', '*.env'];

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'lync-exo' } };
  return destination ? pino(options, destination) : pino(options);
}
