/**
 * The project's commands as a newcomer meets them: what each does, and what
 * people usually run after it. `npm run help` prints the list; every
 * command's --help ends with its `next`. A test checks that each name is a
 * script in package.json and each --help ends this way.
 */
export const COMMANDS = {
  make: {
    summary: 'build the components into bundles/ (cached, atomic, reproducible)',
    next: [
      ['npm run dev-daemon -- --detach', 'run the bundle, isolated'],
      ['npm run test-integration -- ./integration/system', "moby's integration tests against it"],
      ['npm run verify-bundle', 'rebuild every file from manifest.json and compare'],
    ],
  },
  'verify-bundle': {
    summary: "rebuild a bundle's files from its manifest.json alone and compare sha256",
    next: [
      ['npm run make', 'bring the bundle up to date'],
      ['npm run dev-daemon -- --detach', 'run it'],
    ],
  },
  'dev-daemon': {
    summary: "run the bundle's dockerd isolated (--detach, --watch, --debug-port, --rootless)",
    next: [
      ['npm run mobicli -- run -it moby-make/busybox:test sh', 'a container on it'],
      ['npm run test-integration', "moby's suites against the bundle"],
      ['npm run dev-daemon -- stop', 'stop it and remove what it left'],
    ],
  },
  mobicli: {
    summary: 'a small docker client for the dev daemon (run, ps, images, logs, …)',
    next: [
      ['npm run frozen-images', "load moby's test images"],
      ['npm run dev-daemon -- status', 'which daemon it talks to'],
    ],
  },
  'frozen-images': {
    summary: "make moby's test images locally and load them into the engine",
    next: [
      ['npm run mobicli -- images', 'see them'],
      ['npm run test-integration', 'the suites that use them'],
    ],
  },
  shell: {
    summary: 'a shell or a command in the dev image (Dockerfile.dev); starts the dev daemon if needed',
    next: [
      ['npm run make -- --in-container', 'build inside the dev image'],
      ['npm run dev-daemon -- stop', 'stop the dev daemon the shell started'],
    ],
  },
  'test-integration': {
    summary: "moby's integration/ and integration-cli suites against the bundle",
    next: [
      ['npm run test-integration -- --mode rootless', 'another leg of moby CI'],
      ['npm run test-report -- bundles/test-integration*', 'merge runs or shards into one summary'],
      ['npm run test-unit', "moby's unit tests"],
    ],
  },
  'test-unit': {
    summary: "moby's unit tests (hack/test/unit)",
    next: [
      ['npm run test-integration', 'the integration suites'],
      ['npm run validate', "moby's make validate"],
    ],
  },
  'test-report': {
    summary: 'merge the reports of several runs or shards into one summary and JUnit file',
    next: [['npm run test-integration -- --list-shards 6', "the shards of moby CI's matrix"]],
  },
  validate: {
    summary: "moby's make validate at upstream's pins",
    next: [
      ['npm run test-unit', 'the unit tests of the same source'],
      ['npm run make', 'build it'],
    ],
  },
  package: {
    summary: "the bundles as docker-ce's release artifacts: static tarballs, .debs, SBOMs, signed provenance",
    next: [
      ['npm run package -- verify --key cosign.pub', 'check the signature, subjects and SBOMs'],
      ['npm run package -- install-check', 'install the .debs and the tarball in a Debian container and run them'],
      ['npm run make', 'build what it packages'],
    ],
  },
  image: {
    summary: 'a LinuxKit-style kernel+initrd of the bundle (image.yml), booted under QEMU: run, check',
    next: [
      ['npm run image -- run', 'boot it; DOCKER_HOST is printed, Ctrl-C powers it off'],
      ['npm run image -- check', 'boot, prove /_ping, /info and a container, power off'],
      ['npm run test-integration -- --vm', "moby's suites on the image's kernel and cgroup v2"],
      ['npm run make', 'build what it carries'],
    ],
  },
  cache: {
    summary: 'the shared cache on an OCI registry: status, ls, prune',
    next: [
      ['MOBY_MAKE_CACHE_REGISTRY=HOST/REPO npm run make', 'build from the cache'],
      ['npm run cache -- prune --older-than 30d', 'drop old entries'],
    ],
  },
  bench: {
    summary: 'measure speed as ratios against baselines run alongside',
    next: [['npm run make', 'the build it measures']],
  },
  help: {
    summary: 'this list',
    next: [
      ['npm ci && npm run make', 'the quick start'],
      ['npm test', "the project's own tests"],
    ],
  },
} as const satisfies Record<string, { summary: string; next: readonly (readonly [string, string])[] }>;

export type CommandName = keyof typeof COMMANDS;

/** The lines every --help ends with, after a blank line. */
export function nextSteps(command: CommandName): string {
  const steps = COMMANDS[command].next;
  const width = Math.max(...steps.map(([run]) => run.length)) + 2;
  return ['\n\nNext:', ...steps.map(([run, why]) => `  ${run.padEnd(width)}${why}`)].join('\n');
}

/** `npm run help`: every command, then where to read more. */
export function commandList(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [
    'Usage: npm run COMMAND [-- options]   (each command takes --help)',
    '',
    ...names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name].summary}`),
    '',
    `Reference: README.md and docs/.${nextSteps('help')}`,
  ].join('\n');
}
