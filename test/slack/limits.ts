// Slack's limits, checked on a rendered message: what Slack would reject with invalid_blocks, and the cumulative
// limit (msg_blocks_too_long) as the strict stand-in enforces it.
import type { Block } from '../../src/slack/blocks/kit.js';
import { checkBlocks } from './support/slackApi.js';

export function limitViolations(blocks: Block[]): string[] {
  const problems: string[] = [];
  if (blocks.length > 50) problems.push(`${blocks.length} blocks`);
  blocks.forEach((b, i) => {
    if (b.type === 'section' && b.text) {
      if (b.text.text.length > 3000) problems.push(`block ${i}: section text ${b.text.text.length} chars`);
      if ((b.text.text.match(/^```/gm) ?? []).length % 2) problems.push(`block ${i}: unbalanced code fence`);
    }
    if (b.type === 'header' && b.text.text.length > 150) problems.push(`block ${i}: header ${b.text.text.length} chars`);
    if (b.type === 'context') {
      if (b.elements.length > 10) problems.push(`block ${i}: ${b.elements.length} context elements`);
      for (const e of b.elements) if ('text' in e && e.text.length > 3000) problems.push(`block ${i}: context text ${e.text.length} chars`);
    }
    if (b.type === 'actions' && b.elements.length > 25) problems.push(`block ${i}: ${b.elements.length} actions`);
  });
  const slack = checkBlocks(blocks);
  if (slack) problems.push(`slack answers ${slack}`);
  return problems;
}
