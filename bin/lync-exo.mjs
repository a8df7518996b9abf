#!/usr/bin/env node
// Runs the compiled entry (dist/, from `npm run build`) with plain Node: no TypeScript at run time. In a clone,
// `npm run build` first, or use `npm start` (tsx) while developing.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('lync-exo: dist/main.js is missing: run `npm run build` in this checkout (an installed package ships it)\n');
  process.exit(1);
}
await import(entry.href);
