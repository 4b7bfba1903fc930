#!/usr/bin/env node
// The CLI is TypeScript run as-is (no build step), so the bin registers tsx's
// loader in this process and imports it, instead of spawning a second node.
import { register } from 'tsx/esm/api';

register();
await import('../tasks/mobicli.ts');
