import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';

/**
 * moby CI's daemon modes (.github/workflows/.test.yml): a leg is a storage
 * (the containerd snapshotter, or a graphdriver) and a mode whose name is
 * made of words — `rootless`, `userns`, `nftables`, `iptables+firewalld`,
 * `rootless-systemd`, `embedded`. Each word turns into the variables the
 * workflow's Prepare step exports; `--mode` is shorthand for them.
 */
const MODE_WORDS = ['default', 'graphdriver', 'snapshotter', 'rootless', 'userns', 'nftables', 'iptables', 'embedded', 'systemd', 'firewalld'] as const;
type ModeWord = (typeof MODE_WORDS)[number];

/** Words of moby's modes this runner cannot give, and why: said before anything compiles. */
const CANNOT_GIVE: Partial<Record<ModeWord, string>> = {
  systemd: "it needs systemd as the dev container's init (moby's hack/dind-systemd); the tests' namespaces here have no init system",
  firewalld: "it needs a running firewalld and D-Bus in the dev container; neither runs in the tests' namespaces here",
};

function isModeWord(word: string): word is ModeWord {
  return (MODE_WORDS as readonly string[]).includes(word);
}

/**
 * The variables a `--mode` stands for, as the workflow sets them: every leg
 * runs DOCKER_EXPERIMENTAL=1; snapshotter legs DOCKER_GRAPHDRIVER=overlayfs,
 * graphdriver legs overlay2 with TEST_INTEGRATION_USE_GRAPHDRIVER=1.
 */
export function modeVariables(mode: string): Record<string, string> {
  const words = mode.split(/[+-]/);
  for (const word of words) {
    if (!isModeWord(word)) {
      throw new UserError(
        `--mode ${mode}: "${word}" is not one of moby CI's modes`,
        `Combine ${MODE_WORDS.join(', ')} with + (e.g. --mode graphdriver+rootless).`,
      );
    }
    const why = CANNOT_GIVE[word];
    if (why) throw new UserError(`--mode ${mode}: ${word} cannot run here: ${why}`, 'Pick a mode without it (npm run test-integration -- --help lists them).');
  }
  if (words.includes('default') && words.length > 1) throw new UserError(`--mode ${mode}: default is moby CI's mode without extras`, 'Give it alone.');
  if (words.includes('graphdriver') && words.includes('snapshotter'))
    throw new UserError(`--mode ${mode}: a leg has one storage`, 'Give graphdriver or snapshotter.');
  if (words.includes('nftables') && words.includes('iptables'))
    throw new UserError(`--mode ${mode}: one firewall backend at a time`, 'Give nftables or iptables.');
  const graphdriver = words.includes('graphdriver');
  if (words.includes('userns') && !graphdriver) {
    // dockerd turns the containerd snapshotter off under --userns-remap, and then refuses DOCKER_GRAPHDRIVER=overlayfs.
    throw new UserError(`--mode ${mode}: moby CI runs userns only on its graphdriver legs`, 'Use --mode graphdriver+userns.');
  }
  const has = (word: ModeWord) => words.includes(word);
  return {
    DOCKER_EXPERIMENTAL: '1',
    DOCKER_GRAPHDRIVER: graphdriver ? 'overlay2' : 'overlayfs',
    ...(graphdriver ? { TEST_INTEGRATION_USE_GRAPHDRIVER: '1' } : {}),
    ...(has('rootless') ? { DOCKER_ROOTLESS: '1' } : {}),
    ...(has('userns') ? { DOCKER_REMAP_ROOT: 'default' } : {}),
    ...(has('nftables') ? { DOCKER_FIREWALL_BACKEND: 'nftables' } : has('iptables') ? { DOCKER_FIREWALL_BACKEND: 'iptables' } : {}),
    ...(has('embedded') ? { TEST_INTEGRATION_CONTAINERD_EMBEDDED: '1' } : {}),
  };
}

/** What the test daemon and the tests run with beyond moby's local defaults, read from the variables (whoever set them). */
export interface DaemonMode {
  /** `default`, or the words in a fixed order, e.g. `graphdriver-rootless`: the summary's and the results folder's name. */
  name: string;
  rootless: boolean;
  /** DOCKER_REMAP_ROOT: dockerd --userns-remap. */
  remapRoot: string | undefined;
  /** DOCKER_FIREWALL_BACKEND: dockerd --firewall-backend. */
  firewallBackend: 'iptables' | 'nftables' | undefined;
  /** TEST_INTEGRATION_USE_GRAPHDRIVER: the tests expect a graphdriver, not the snapshotter. */
  useGraphdriver: boolean;
  /** TEST_INTEGRATION_CONTAINERD_EMBEDDED: daemons started by tests run containerd in-process. */
  containerdEmbedded: boolean;
  /** DOCKER_STORAGE_OPTS, split on commas: one --storage-opt each. */
  storageOpts: string[];
  /** DOCKERD_ARGS: more flags for the test daemon, as hack/make/run takes them. */
  dockerdArgs: string[];
}

export function readDaemonMode(vars: Env, split: (text: string | undefined) => string[]): DaemonMode {
  const firewall = vars.DOCKER_FIREWALL_BACKEND || undefined;
  if (firewall !== undefined && firewall !== 'iptables' && firewall !== 'nftables') {
    throw new UserError(`DOCKER_FIREWALL_BACKEND=${firewall} is not a firewall backend dockerd has`, 'Use iptables or nftables.');
  }
  const mode: DaemonMode = {
    name: 'default',
    rootless: Boolean(vars.DOCKER_ROOTLESS),
    remapRoot: vars.DOCKER_REMAP_ROOT || undefined,
    firewallBackend: firewall,
    useGraphdriver: Boolean(vars.TEST_INTEGRATION_USE_GRAPHDRIVER),
    containerdEmbedded: Boolean(vars.TEST_INTEGRATION_CONTAINERD_EMBEDDED),
    storageOpts: (vars.DOCKER_STORAGE_OPTS ?? '').split(',').filter(Boolean),
    dockerdArgs: split(vars.DOCKERD_ARGS),
  };
  if (mode.rootless && mode.remapRoot) {
    throw new UserError('DOCKER_ROOTLESS with DOCKER_REMAP_ROOT: a rootless daemon cannot remap users', 'Pick one (moby CI runs them as separate modes).');
  }
  const words = [
    mode.useGraphdriver && 'graphdriver',
    mode.rootless && 'rootless',
    mode.remapRoot && 'userns',
    mode.firewallBackend === 'nftables' && 'nftables',
    mode.containerdEmbedded && 'embedded',
  ].filter((word): word is string => typeof word === 'string');
  return { ...mode, name: words.length > 0 ? words.join('-') : 'default' };
}

/** The mode's variables as the summary shows them (what a CI job would export). */
export function modeSummary(mode: DaemonMode, graphDriver: string, experimental: boolean): string {
  const vars = [
    `DOCKER_GRAPHDRIVER=${graphDriver}`,
    ...(experimental ? ['DOCKER_EXPERIMENTAL=1'] : []),
    ...(mode.useGraphdriver ? ['TEST_INTEGRATION_USE_GRAPHDRIVER=1'] : []),
    ...(mode.rootless ? ['DOCKER_ROOTLESS=1'] : []),
    ...(mode.remapRoot ? [`DOCKER_REMAP_ROOT=${mode.remapRoot}`] : []),
    ...(mode.firewallBackend ? [`DOCKER_FIREWALL_BACKEND=${mode.firewallBackend}`] : []),
    ...(mode.containerdEmbedded ? ['TEST_INTEGRATION_CONTAINERD_EMBEDDED=1'] : []),
    ...(mode.storageOpts.length > 0 ? [`DOCKER_STORAGE_OPTS=${mode.storageOpts.join(',')}`] : []),
    ...(mode.dockerdArgs.length > 0 ? [`DOCKERD_ARGS="${mode.dockerdArgs.join(' ')}"`] : []),
  ];
  return `mode: ${mode.name} (${vars.join(' ')})`;
}

/**
 * The test daemon's flags the mode adds, as .integration-daemon-start builds
 * them (storage options, --userns-remap, --firewall-backend), then
 * DOCKERD_ARGS as hack/make/run adds them.
 */
export function modeDaemonArgs(mode: DaemonMode): string[] {
  return [
    ...mode.storageOpts.flatMap((opt) => ['--storage-opt', opt]),
    ...(mode.remapRoot ? ['--userns-remap', mode.remapRoot] : []),
    ...(mode.firewallBackend ? [`--firewall-backend=${mode.firewallBackend}`] : []),
    ...mode.dockerdArgs,
  ];
}

/** What the tests read of the mode (internal/testutil/environment and daemon). */
export function modeTestEnv(mode: DaemonMode): Record<string, string> {
  return {
    ...(mode.rootless ? { DOCKER_ROOTLESS: '1' } : {}),
    ...(mode.remapRoot ? { DOCKER_REMAP_ROOT: mode.remapRoot } : {}),
    ...(mode.firewallBackend ? { DOCKER_FIREWALL_BACKEND: mode.firewallBackend } : {}),
    ...(mode.useGraphdriver ? { TEST_INTEGRATION_USE_GRAPHDRIVER: '1' } : {}),
    ...(mode.containerdEmbedded ? { TEST_INTEGRATION_CONTAINERD_EMBEDDED: '1' } : {}),
  };
}
