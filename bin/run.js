#!/usr/bin/env node
// @ts-check
// The npm scripts' entry: `node bin/run.js tasks/make.ts args…` runs the task compiled (see launcher.js).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { launch, projectRoot } from './launcher.js';

const [entry, ...args] = process.argv.slice(2);
if (!entry || !existsSync(resolve(projectRoot, entry))) {
  console.error(`bin/run.js: ${entry ? `there is no ${entry} in ${projectRoot}` : 'no file to run'}; usage: node bin/run.js <file.ts> [args…]`);
  process.exit(2);
}
await launch(entry, args);
