#!/usr/bin/env node
// @ts-check
// The npm scripts' entry: `node bin/run.js tasks/make.ts args…` runs the task compiled (see launcher.js).
import { launch } from './launcher.js';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node bin/run.js <file.ts> [args…]');
  process.exit(2);
}
await launch(entry, args);
