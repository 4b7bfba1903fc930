import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { COMPRESSIONS } from './cpio.js';

/**
 * image.yml: LinuxKit's shape (`kernel`, `init`, `onboot`, `services`,
 * `files`, with LinuxKit's field names where they mean the same), for a
 * machine that runs the bundle. LinuxKit's pieces are images; here they are
 * what this project builds: the init is image/init, `init` entries name the
 * bundles whose files go into /usr/bin, onboot and services are programs
 * of the image rather than containers, and `images` are moby's frozen images,
 * loaded into dockerd at boot.
 */
const command = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name of lowercase letters, digits and -'),
    command: z.array(z.string()).min(1),
    env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'NAME=value')).default([]),
    /** A path that exists once the service can be used (its socket); the next service starts after it. */
    ready: z.string().startsWith('/').optional(),
  })
  .strict();

const file = z
  .object({
    path: z.string().min(1),
    contents: z.string().optional(),
    /** A file of the project, relative to image.yml. */
    source: z.string().optional(),
    symlink: z.string().optional(),
    directory: z.boolean().optional(),
    mode: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, 'an octal mode such as 0644')
      .optional(),
  })
  .strict()
  .refine((entry) => [entry.contents, entry.source, entry.symlink, entry.directory].filter((field) => field !== undefined).length === 1, {
    message: 'give exactly one of contents, source, symlink, directory',
  });

export const INIT_PROGRAM = 'moby-make/init';
const BUNDLE_PREFIX = 'bundle/';

const imageSchema = z
  .object({
    kernel: z
      .object({
        /** A Debian kernel package, or the metapackage that depends on one (linux-image-amd64). */
        package: z.string().regex(/^linux-image-[a-z0-9.+-]+$/, 'a Debian linux-image package'),
        cmdline: z.string().default('console=ttyS0'),
        modules: z.array(z.string().regex(/^[a-z0-9_-]+$/, 'a module name')).default([]),
        /**
         * Folders under the kernel's modules (net/netfilter) whose modules load
         * when the kernel asks for them (request_module: iptables' tables and
         * matches, nftables' expressions), as modprobe loads them on a host.
         */
        autoload: z.array(z.string().regex(/^[a-z0-9_][a-z0-9_/-]*$/, 'a folder under lib/modules/<release>/kernel, such as net/netfilter')).default([]),
      })
      .strict(),
    init: z
      .array(z.string().refine((entry) => entry === INIT_PROGRAM || entry.startsWith(BUNDLE_PREFIX), `${INIT_PROGRAM} or bundle/<name>`))
      .refine((entries) => entries.includes(INIT_PROGRAM), `must include ${INIT_PROGRAM}`),
    onboot: z.array(command).default([]),
    services: z.array(command).default([]),
    images: z.array(z.string()).default([]),
    files: z.array(file).default([]),
    outputs: z
      .object({
        format: z.literal('kernel+initrd').default('kernel+initrd'),
        compression: z.enum(COMPRESSIONS).default('none'),
        /** The guest's memory under `npm run image -- run`, in MiB. */
        memory: z.number().int().min(512).default(3072),
        cpus: z.number().int().min(1).default(2),
      })
      .strict()
      .default({ format: 'kernel+initrd', compression: 'none', memory: 3072, cpus: 2 }),
  })
  .strict();

export type ImageSpec = z.infer<typeof imageSchema>;
export type ImageCommand = z.infer<typeof command>;
export type ImageFile = z.infer<typeof file>;

/** The bundles whose files the image carries (`bundle/<name>` entries of init). */
export function initBundles(spec: ImageSpec): string[] {
  return spec.init.filter((entry) => entry.startsWith(BUNDLE_PREFIX)).map((entry) => entry.slice(BUNDLE_PREFIX.length));
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '');
}

/** The first problem, as one line that names the field: `image.yml: unknown field kernel.modulez`. */
function describeIssue(where: string, issue: z.core.$ZodIssue): string {
  const at = fieldPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const fields = issue.keys.map((key) => (at ? `${at}.${key}` : key)).join(', ');
    return `${where}: unknown field ${fields}`;
  }
  return `${where}: ${at || 'the document'}: ${issue.message}`;
}

export function parseImageSpec(text: string, where: string): ImageSpec {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new UserError(`${where} is not YAML: ${(error as Error).message.split('\n')[0]}`, 'Fix the syntax (the line and column are above).');
  }
  const parsed = imageSchema.safeParse(document);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    throw new UserError(first ? describeIssue(where, first) : `${where} is not an image description`, 'See docs/image.md for the fields image.yml takes.');
  }
  return parsed.data;
}

export function readImageSpec(path: string): ImageSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`there is no image description at ${path}`, 'Run from the project root, or give one with --file.');
  }
  return parseImageSpec(text, path);
}
