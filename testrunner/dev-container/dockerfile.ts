import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';

/**
 * What moby's `Dockerfile` at the source under test says its dev container
 * gives the tests, read from that file rather than copied here, so a newer
 * moby tree brings its own list.
 */
export interface DevStage {
  /** Every package the `dev-base` stage installs with apt-get, in the file's order. */
  aptPackages: string[];
  /** `name:tag` of each image the `frozen-images` stage downloads into /docker-frozen-images. */
  frozenImages: string[];
  /** The `ARG NAME=value` defaults, e.g. DOCKERCLI_INTEGRATION_VERSION. */
  args: Record<string, string>;
}

/** The stage every dev container is built on; the apt lists of the systemd and firewalld variants are not in it. */
const DEV_STAGE = 'dev-base';
const FROZEN_STAGE = 'frozen-images';

export function readDevStage(sourceDir: string): DevStage {
  const file = join(sourceDir, 'Dockerfile');
  if (!existsSync(file)) throw new UserError(`${file} is missing`, "moby's dev container is read from the Dockerfile of the source under test.");
  const stage = parseDevStage(readFileSync(file, 'utf8'));
  if (stage.aptPackages.length === 0) {
    throw new UserError(`${file} has no apt-get install in its ${DEV_STAGE} stage`, 'The runner reads the dev container from that stage; check the tree.');
  }
  return stage;
}

/** Dockerfile instructions with their continuation lines joined, comments and heredoc bodies left out. */
function instructions(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let heredoc: string | undefined;
  for (const line of text.split('\n')) {
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      continue;
    }
    if (current === '' && /^\s*#/.test(line)) continue;
    if (current !== '' && /^\s*#/.test(line)) continue; // comments inside a continued instruction
    const continued = line.endsWith('\\');
    current += ` ${continued ? line.slice(0, -1) : line}`;
    if (continued) continue;
    const instruction = current.trim();
    current = '';
    if (instruction === '') continue;
    result.push(instruction);
    const start = /<<-?["']?(\w+)["']?/.exec(instruction);
    if (start) heredoc = start[1];
  }
  return result;
}

export function parseDevStage(text: string): DevStage {
  const args: Record<string, string> = {};
  const byStage = new Map<string, string[]>();
  let stage: string | undefined;
  for (const instruction of instructions(text)) {
    const [keyword = '', ...rest] = instruction.split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'FROM': {
        const as = rest.findIndex((word) => word.toUpperCase() === 'AS');
        stage = as >= 0 ? rest[as + 1] : undefined;
        break;
      }
      case 'ARG': {
        const match = /^(\w+)=["']?([^"'\s]*)["']?$/.exec(rest[0] ?? '');
        if (match?.[1] && match[2] !== undefined && !(match[1] in args)) args[match[1]] = match[2];
        break;
      }
      default:
        if (stage !== undefined) byStage.set(stage, [...(byStage.get(stage) ?? []), instruction]);
    }
  }
  const aptPackages = (byStage.get(DEV_STAGE) ?? []).flatMap(aptInstalled);
  const frozenImages = (byStage.get(FROZEN_STAGE) ?? []).flatMap(frozenDownloads);
  return { aptPackages: [...new Set(aptPackages)], frozenImages, args };
}

/** The package names after `apt-get install` (options left out) up to the end of that command. */
function aptInstalled(instruction: string): string[] {
  const packages: string[] = [];
  for (const match of instruction.matchAll(/apt-get\s+install\b([^&;|]*)/g)) {
    for (const word of (match[1] ?? '').trim().split(/\s+/)) if (/^[a-z0-9][a-z0-9+.-]+$/.test(word)) packages.push(word);
  }
  return packages;
}

/** `download-frozen-image-v2.sh DIR name:tag@sha256:… …`: the references without their digests. */
function frozenDownloads(instruction: string): string[] {
  const match = /download-frozen-image-v2\.sh\s+\S+\s+(.*)$/.exec(instruction);
  if (!match?.[1]) return [];
  return match[1]
    .split(/\s+/)
    .filter((word) => word.includes('@sha256:'))
    .map((word) => word.slice(0, word.indexOf('@')));
}
