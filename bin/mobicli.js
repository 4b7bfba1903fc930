#!/usr/bin/env node
// @ts-check
// The CLI is TypeScript without a build step of its own: the launcher compiles what changed and runs it in this process.
import { launch } from './launcher.js';

await launch('tasks/mobicli.ts', process.argv.slice(2));
