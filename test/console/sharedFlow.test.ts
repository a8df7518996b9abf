// The console and Slack are two adapters over one flow: both reach LyncExoService, neither runs plans, plans
// changes or parses commands itself. Read from the source, so a shortcut added later fails here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(path.join(src, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: path.join(dir, f), text: readFileSync(path.join(src, dir, f), 'utf8') }));
}

/** Every import of a file: the module and whether it brings only types. */
function imports(text: string): { from: string; typeOnly: boolean }[] {
  return [...text.matchAll(/^import\s+(type\s+)?([^'";]*?)\s*from\s*'([^']+)'/gm)].map((m) => ({
    from: m[3]!,
    // `import type {…}` or `import { type A, type B }`
    typeOnly: !!m[1] || /^\{\s*(type\s+\w+\s*,?\s*)+\}$/.test(m[2]!.trim()),
  }));
}

/** The flow's own parts: only LyncExoService may call them. Types from them (View data) are fine. */
const FLOW = [/\/core\/run\//, /\/core\/runbook\/planner\.js$/, /\/core\/runbook\/inputs\.js$/, /\/core\/command\/parse\.js$/, /\/core\/policy\.js$/, /\/core\/store\.js$/];

describe.each([
  ['console', [...sources('console'), { file: 'demo.ts', text: readFileSync(path.join(src, 'demo.ts'), 'utf8') }]],
  ['slack', sources('slack')],
])('the %s adapter', (_name, files) => {
  it('reaches LyncExoService from src/core/service.js', () => {
    const service = files.filter((f) => imports(f.text).some((i) => i.from.endsWith('/core/service.js')) && /\bLyncExoService\b/.test(f.text));
    expect(service.map((f) => f.file)).not.toEqual([]);
  });

  it('never runs, plans or parses on its own: no value import of the flow’s parts', () => {
    const offending = files.flatMap((f) => imports(f.text).filter((i) => !i.typeOnly && FLOW.some((re) => re.test(i.from))).map((i) => `${f.file} imports ${i.from}`));
    expect(offending).toEqual([]);
  });

  it('calls no flow function by name', () => {
    const calls = /\b(executePlan|runChecks|readState|newRunSteps|checkReplication|checkEdges|parseCommand|checkApprover|checkRequester|inverseTargets)\s*\(/;
    expect(files.filter((f) => calls.test(f.text)).map((f) => f.file)).toEqual([]);
  });
});

it('the console builds its service with compose(), the composition every front end shares', () => {
  const runConsole = readFileSync(path.join(src, 'console', 'runConsole.ts'), 'utf8');
  expect(imports(runConsole).map((i) => i.from)).toContain('../compose.js');
  expect(runConsole).toMatch(/\bcompose\(\{/);
  expect(runConsole).not.toMatch(/new LyncExoService\(/);
});
