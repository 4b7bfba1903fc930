import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';

/**
 * What moby's `Dockerfile` at the source under test says its dev container
 * gives the tests, read from that file rather than copied here, so a newer
 * moby tree brings its own list.
 */
export interface DevStage {
  /** The packages of the dev stage's base image and every package its stages install with apt-get, in order. */
  aptPackages: string[];
  /** The image the stages start from, e.g. golang:1.26.5-bookworm. */
  baseImage: string;
  /** Files the stages copy from the tree to an absolute path (hack/dockerfile/etc/docker/ → /etc/docker/). */
  copies: { from: string; to: string }[];
  /** `name:tag` of each image the `frozen-images` stage downloads into /docker-frozen-images. */
  frozenImages: string[];
  /** The `ARG NAME=value` defaults, e.g. DOCKERCLI_INTEGRATION_VERSION. */
  args: Record<string, string>;
}

/** `make shell`'s stage; the chain back to its base image is followed with the ARG defaults (SYSTEMD=false, FIREWALLD=false). */
const DEV_STAGE = 'dev';
const FROZEN_STAGE = 'frozen-images';

/**
 * What the official golang:<version>-<debian> image has before moby's
 * stages add theirs: buildpack-deps:<debian>-scm's packages and golang's own
 * (docker-library's Dockerfiles), so curl, wget, git, procps and g++ are
 * there as in moby's dev container.
 */
const GOLANG_IMAGE_PACKAGES = [
  'ca-certificates',
  'curl',
  'gnupg',
  'netbase',
  'wget',
  'git',
  'mercurial',
  'openssh-client',
  'subversion',
  'procps',
  'g++',
  'gcc',
  'libc6-dev',
  'make',
  'pkg-config',
];

export function readDevStage(sourceDir: string): DevStage {
  const file = join(sourceDir, 'Dockerfile');
  if (!existsSync(file)) throw new UserError(`${file} is missing`, "moby's dev container is read from the Dockerfile of the source under test.");
  const stage = parseDevStage(readFileSync(file, 'utf8'));
  if (stage.aptPackages.length === 0) {
    throw new UserError(
      `${file} has no apt-get install in its ${DEV_STAGE} stage or those it builds on`,
      'The runner reads the dev container from that stage; check the tree.',
    );
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
  const stages = new Map<string, { from: string; instructions: string[] }>();
  let current: { from: string; instructions: string[] } | undefined;
  const expand = (word: string) => word.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a?: string, b?: string) => args[a ?? b ?? ''] ?? whole);
  for (const instruction of instructions(text)) {
    const [keyword = '', ...rest] = instruction.split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'FROM': {
        const words = rest.filter((word) => !word.startsWith('--'));
        const as = words.findIndex((word) => word.toUpperCase() === 'AS');
        current = { from: expand(words[0] ?? ''), instructions: [] };
        if (as >= 0 && words[as + 1]) stages.set(words[as + 1] ?? '', current);
        break;
      }
      case 'ARG': {
        const match = /^(\w+)=["']?([^"'\s]*)["']?$/.exec(rest[0] ?? '');
        // Global ARGs only (before the first FROM): a stage's ARG NAME re-declares, it does not set.
        if (current === undefined && match?.[1] && match[2] !== undefined) args[match[1]] = expand(match[2]);
        break;
      }
      default:
        current?.instructions.push(instruction);
    }
  }
  const chain: string[][] = [];
  let baseImage = '';
  for (let name: string | undefined = DEV_STAGE; name !== undefined;) {
    const stage = stages.get(name);
    if (!stage || chain.length > stages.size) break;
    chain.unshift(stage.instructions);
    if (stages.has(stage.from)) name = stage.from;
    else {
      baseImage = stage.from;
      name = undefined;
    }
  }
  const fromBase = /^golang:/.test(baseImage) ? GOLANG_IMAGE_PACKAGES : [];
  const aptPackages = [...fromBase, ...chain.flat().flatMap(aptInstalled)];
  const frozenImages = (stages.get(FROZEN_STAGE)?.instructions ?? []).flatMap(frozenDownloads);
  return { aptPackages: [...new Set(aptPackages)], baseImage, copies: chain.flat().flatMap(treeCopies), frozenImages, args };
}

/** The package names after `apt-get install` (options left out) up to the end of that command. */
function aptInstalled(instruction: string): string[] {
  const packages: string[] = [];
  for (const match of instruction.matchAll(/apt-get\s+install\b([^&;|]*)/g)) {
    for (const word of (match[1] ?? '').trim().split(/\s+/)) if (/^[a-z0-9][a-z0-9+.-]+$/.test(word)) packages.push(word);
  }
  return packages;
}

/** `COPY [--link] SRC… DEST` from the build context (no --from) to an absolute DEST. */
function treeCopies(instruction: string): { from: string; to: string }[] {
  const [keyword, ...words] = instruction.split(/\s+/);
  if (keyword?.toUpperCase() !== 'COPY' || words.some((word) => word.startsWith('--from'))) return [];
  const paths = words.filter((word) => !word.startsWith('--'));
  const to = paths.pop();
  if (!to?.startsWith('/')) return [];
  return paths.map((from) => ({ from: from.replace(/^\.\//, ''), to }));
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
