import { UserError } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
import type { ComponentRecord } from '../../core/manifest.js';
import { isHost, parsePlatform } from '../../core/platform.js';
import { detectToolchain, type Tool } from '../toolchain.js';

const TOOLS: readonly Tool[] = ['go', 'cc', 'cmake'];

/**
 * Refuses to replay with another toolchain than the recorded one: a different
 * compiler may give different bytes, and that would prove nothing about the
 * record. Every differing tool is named with both versions.
 */
export async function checkToolchain(components: Readonly<Record<string, ComponentRecord>>, env: Env): Promise<Record<string, string>> {
  const recorded = new Map<Tool, { version: string; components: string[] }[]>();
  for (const [name, record] of Object.entries(components)) {
    for (const [tool, version] of Object.entries(record.toolchain)) {
      if (!isTool(tool))
        throw new UserError(`${name}: the manifest records a tool '${tool}' this moby-make does not know`, `Known tools: ${TOOLS.join(', ')}.`);
      const versions = recorded.get(tool) ?? [];
      const same = versions.find((v) => v.version === version);
      if (same) same.components.push(name);
      else versions.push({ version, components: [name] });
      recorded.set(tool, versions);
    }
  }
  // A cross bundle's cc is the cross compiler for the platform its records name.
  const platforms = [...new Set(Object.values(components).map((record) => record.platform))];
  if (platforms.length > 1)
    throw new UserError(`the manifest mixes platforms (${platforms.map((p) => p ?? 'this machine').join(', ')})`, 'Replay one bundle at a time.');
  const target = platforms[0] === undefined ? undefined : parsePlatform(platforms[0]);
  const found = (await detectToolchain([...recorded.keys()], env, target && !isHost(target) ? target : undefined)).versions;
  const differences: string[] = [];
  for (const [tool, versions] of recorded) {
    for (const { version, components: names } of versions) {
      const here = found[tool] ?? 'none';
      if (here !== version) differences.push(`${tool}: the bundle was built with '${version}' (${names.join(', ')}), this machine has '${here}'`);
    }
  }
  if (differences.length > 0) {
    throw new UserError(
      `the toolchain differs from the one recorded in the manifest:\n${differences.map((d) => `  ${d}`).join('\n')}`,
      'Put the recorded versions first on PATH; a different toolchain need not give the same bytes, so nothing was replayed.',
    );
  }
  return found;
}

function isTool(name: string): name is Tool {
  return (TOOLS as readonly string[]).includes(name);
}
