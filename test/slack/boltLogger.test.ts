import { describe, expect, it } from 'vitest';
import { LogLevel } from '@slack/bolt';
import { boltLogger } from '../../src/slack/boltLogger.js';
import { memoryLog } from './support/memoryLog.js';

describe('boltLogger', () => {
  it("turns Bolt's (msg, err) into pino's ({ err }, msg)", () => {
    const { log, lines } = memoryLog();
    const logger = boltLogger(log);
    logger.error('An unhandled error occurred while Bolt processed an event', new Error('boom'));
    logger.info('socket mode', { state: 'connected' });
    expect(lines[0]).toMatchObject({ level: 50, component: 'bolt', msg: 'An unhandled error occurred while Bolt processed an event', err: { message: 'boom' } });
    expect(lines[1]).toMatchObject({ level: 30, msg: "socket mode { state: 'connected' }" });
  });

  it('levels and names pass through', () => {
    const { log, lines } = memoryLog();
    const logger = boltLogger(log);
    logger.setLevel(LogLevel.WARN);
    expect(logger.getLevel()).toBe(LogLevel.WARN);
    logger.info('hidden');
    logger.setName('socket-mode');
    logger.info('still hidden');
    logger.warn('shown');
    expect(lines.map((l) => [l.component, l.msg])).toEqual([['socket-mode', 'shown']]);
  });
});
