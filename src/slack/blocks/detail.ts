// A step's details in the run's thread: a long PowerShell error or the per-Edge comparison, whole, in code
// sections of at most 3,000 characters each (split on line boundaries), within one message's limits. The core
// splits what is longer than one message into parts.
import type { View } from '../../core/ports.js';
import type { Words } from '../../i18n/index.js';
import { assemble, type Block, code, context, ENGLISH, esc, LIMITS, section } from './kit.js';

export function renderDetail(view: Extract<View, { kind: 'detail' }>, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  const part = view.part && view.part.of > 1 ? ` ${w.t('detail.part', { n: view.part.n, of: view.part.of })}` : '';
  const sections: Block[] = [];
  let chunk: string[] = [];
  const flush = () => {
    if (chunk.length) sections.push(section(code(chunk)));
    chunk = [];
  };
  for (const raw of view.lines) {
    // a single line longer than a section is split, never cut
    for (let i = 0; i < Math.max(1, raw.length); i += LIMITS.section - 20) {
      const line = raw.slice(i, i + LIMITS.section - 20);
      if (esc([...chunk, line].join('\n')).length + 8 > LIMITS.section) flush();
      chunk.push(line);
    }
  }
  flush();
  return {
    text: `${w.t('detail.fallback', { runId: view.runId, title: view.title })}${part}`,
    blocks: assemble([section(`*${esc(view.title)}*${part} · ${w.t('detail.run', { runId: view.runId })}`)], sections, [context(w.t('detail.whole'))], w, 'sections', w.t('detail.where', { audit: 'lync-exo audit' })),
  };
}
