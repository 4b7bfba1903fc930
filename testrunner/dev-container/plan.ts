import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import { TUN_DEVICE, TUN_MODE } from '../../devdaemon/rootless/tun.js';
import { installGoTool, type GoTool } from '../../core/go-tools.js';
import type { Listener } from '../../core/events.js';
import type { RemoteImages } from '../../core/remote-images.js';
import { makeFrozenArchives, type FrozenImageEvent } from '../frozen-images/index.js';
import type { DaemonSource } from '../../core/daemon-source.js';
import { readDevStage } from './dockerfile.js';
import { ensureFrozenFolder } from './frozen-folder.js';
import { DEV_BUILDX_PLUGIN, DEV_CLI, DEV_CLI_INTEGRATION, DEV_FROZEN_IMAGES, DEV_SOURCE, type LayoutStep } from './layout.js';
import { ensurePackageLayer } from './packages.js';

export interface DevContainerInputs {
  source: DaemonSource;
  cacheDir: string;
  env: Env;
  gopath: string;
  /** moby's DEST on the host; inside it is bound at /usr/src/moby/bundles/<name>, where the harness looks for ../../integration. */
  resultsDir: string;
  resultsName: string;
  /** The bundles root: a client from it is bound at the dev container's path. */
  bundlesDir: string;
  clients: Clients;
  /** With a listener for the images as they are made, /docker-frozen-images (the integration suites'; unit tests load none). */
  frozenImages: { onEvent: Listener<FrozenImageEvent>; remote?: RemoteImages } | undefined;
  onStep: (text: string) => void;
  signal: AbortSignal;
  /** DOCKER_ROOTLESS: the unprivileged user's daemons need /dev/net/tun. */
  rootless?: boolean;
  /** integration-cli runs: its builds with DOCKER_BUILDKIT=1 go through the dev stage's docker-buildx plugin. */
  cliPlugins?: boolean;
}

/** The docker CLIs of a run: the bundle's folder (for /usr/local/cli), and integration-cli's client. */
export interface Clients {
  cliDir?: string;
  /** TEST_CLIENT_BINARY: the caller's (used where it is), or a bundle's (bound at /usr/local/cli-integration). */
  integrationCli?: { binary: string; ownBundle: boolean };
}

export interface DevContainer {
  steps: LayoutStep[];
  /** DEST as the tests see it. */
  dest: string;
  /** TEST_CLIENT_BINARY as the tests see it. */
  testClientBinary: string | undefined;
  /** The source tree as the tests see it (moby's WORKDIR). */
  sourceDir: string;
  /** What the dev container has, for the run's notes: the packages layer, what could not be made. */
  notes: string[];
}

/**
 * moby's dev container (its Dockerfile's dev stage at the source under
 * test) made true inside the tests' namespace: the stage's Debian packages
 * over /usr and /etc, /docker-frozen-images, the source at /usr/src/moby
 * with DEST under its bundles/, /usr/local/cli, the stage's users, and
 * hack/dind's securityfs. Everything the host would have to gain lives in
 * our cache and is only mounted in the namespace.
 */
export async function planDevContainer(inputs: DevContainerInputs): Promise<DevContainer> {
  const { source, cacheDir, env, signal } = inputs;
  const stage = readDevStage(source.dir);
  inputs.onStep(`moby's dev container: ${stage.aptPackages.length} packages from ${join(source.dir, 'Dockerfile')} (dev stage)`);
  const layer = await ensurePackageLayer(stage.aptPackages, cacheDir, env, signal);
  const notes = [
    layer.dir
      ? `dev container: the dev stage's ${stage.aptPackages.length} packages need ${layer.archives.length} Debian archives the host lacks, laid over /usr and /etc from ${layer.dir}`
      : `dev container: the host has all ${stage.aptPackages.length} of the dev stage's packages`,
  ];
  const steps: LayoutStep[] = [
    { kind: 'own-root', folders: inputs.frozenImages ? [DEV_FROZEN_IMAGES] : [] },
    { kind: 'overlay', target: '/usr', layers: layer.dir ? [join(layer.dir, 'usr')] : [] },
    { kind: 'overlay', target: '/etc', layers: layer.dir && existsSync(join(layer.dir, 'etc')) ? [join(layer.dir, 'etc')] : [] },
    // useradd --create-home, and tests' own writes there, stay in the namespace.
    { kind: 'overlay', target: '/home', layers: [] },
    { kind: 'ldconfig' },
    // The dev stage's /etc/docker/daemon.json: dockerd run by a test without --config-file reads it (TestDaemonConfigValidation).
    ...stage.copies.map((copy): LayoutStep => ({ kind: 'copy', source: join(source.dir, copy.from), target: copy.to })),
    { kind: 'user', name: 'unprivilegeduser', group: 'docker' },
    // internal/testutil/daemon starts rootless daemons with `sudo --preserve-env=PATH -- dockerd-rootless.sh`, counting on the
    // dev container's sudo (trixie's) to keep PATH; the host's release's sudo applies secure_path all the same.
    { kind: 'file', path: '/etc/sudoers.d/moby-make-keep-path', content: 'Defaults:root !secure_path\n' },
    // Debian's udev makes both 0666; this kind of host leaves them 0600, and `docker run --device` copies the host node's mode.
    {
      kind: 'device-mode',
      path: '/dev/fuse',
      major: 10,
      minor: 229,
      mode: 0o666,
      why: 'containers given --device /dev/fuse see udev’s mode (TestDevicePermissions)',
    },
    ...(inputs.rootless
      ? [{ kind: 'device-mode', path: TUN_DEVICE, major: 10, minor: 200, mode: TUN_MODE, why: 'the unprivileged user’s slirp4netns opens it' } as const]
      : []),
    { kind: 'securityfs' },
    { kind: 'bind', source: source.dir, target: DEV_SOURCE, readOnly: false },
  ];
  if (source.kind === 'module') steps.push(...moduleZipRepairs(source.dir));
  const dest = join(DEV_SOURCE, 'bundles', inputs.resultsName);
  steps.push({ kind: 'bind', source: inputs.resultsDir, target: dest, readOnly: false });
  // Plugin tests build into $GOPATH/bin (moby's /go/bin): those binaries go with the namespace. Last, as it covers the module cache's own overlay.
  steps.push({ kind: 'overlay', target: inputs.gopath, layers: [] });
  const { cliDir, integrationCli } = inputs.clients;
  if (cliDir) steps.push({ kind: 'bind', source: cliDir, target: DEV_CLI, readOnly: true });
  let testClientBinary = integrationCli?.binary;
  if (integrationCli && integrationCli.binary.startsWith(`${inputs.bundlesDir}/`)) {
    steps.push({ kind: 'bind', source: dirname(integrationCli.binary), target: DEV_CLI_INTEGRATION, readOnly: true });
    testClientBinary = join(DEV_CLI_INTEGRATION, 'docker');
    if (!integrationCli.ownBundle) {
      notes.push(
        `integration-cli: drives the bundle's client, not DOCKERCLI_INTEGRATION_VERSION's (${stage.args.DOCKERCLI_INTEGRATION_VERSION ?? 'unknown'}): build it with npm run make -- --only cli-integration`,
      );
    }
  }
  if (inputs.cliPlugins) {
    const buildx = await installDevBuildx(stage.args.BUILDX_VERSION, cacheDir, env, signal);
    inputs.onStep(`dev container: docker-buildx ${buildx.version} (the dev stage's BUILDX_VERSION, built once from the Go module proxy)`);
    steps.push({ kind: 'copy', source: buildx.binary, target: DEV_BUILDX_PLUGIN });
  }
  if (inputs.frozenImages) {
    const archives = await makeFrozenArchives({ cacheDir, env, signal, ...inputs.frozenImages });
    const folder = await ensureFrozenFolder(archives, stage.frozenImages, cacheDir);
    steps.push({ kind: 'bind', source: folder.dir, target: DEV_FROZEN_IMAGES, readOnly: true });
    if (folder.missing.length > 0) notes.push(`dev container: ${DEV_FROZEN_IMAGES} lacks ${folder.missing.join(', ')} (no recipe here makes them)`);
  }
  return { steps, dest, testClientBinary, sourceDir: DEV_SOURCE, notes };
}

/**
 * The dev stage copies docker/buildx-bin:${BUILDX_VERSION}'s binary in as the
 * CLI plugin; here the same release comes from its module (no replace
 * rules, so go install builds it as released, checked against go.sum).
 */
async function installDevBuildx(version: string | undefined, cacheDir: string, env: Env, signal: AbortSignal): Promise<{ binary: string; version: string }> {
  if (!version)
    throw new UserError(
      "moby's Dockerfile has no BUILDX_VERSION",
      "integration-cli needs the dev stage's docker-buildx plugin; check the Dockerfile at the source under test.",
    );
  const tool: GoTool = { pkg: 'github.com/docker/buildx/cmd/buildx', version: version.startsWith('v') ? version : `v${version}`, binary: 'buildx' };
  return { binary: await installGoTool(tool, join(cacheDir, 'tools'), env, signal), version: tool.version };
}

/**
 * What a module zip loses against moby's git tree: modes (scripts such as
 * integration-cli/fixtures/auth/docker-credential-shell-test must run) and
 * symlinks — integration-cli/fixtures/https links to integration/testdata/https
 * (hack/generate-test-certs.sh says so). Done in the namespace's overlay of
 * the tree, on its path there.
 */
export function moduleZipRepairs(sourceDir: string): LayoutStep[] {
  const steps: LayoutStep[] = [{ kind: 'scripts-executable', dir: DEV_SOURCE }];
  const certs = join(sourceDir, 'integration', 'testdata', 'https');
  const linked = join(sourceDir, 'integration-cli', 'fixtures', 'https');
  if (existsSync(certs) && existsSync(linked)) {
    for (const name of readdirSync(certs)) {
      if (existsSync(join(linked, name))) continue;
      steps.push({
        kind: 'symlink',
        path: join(DEV_SOURCE, 'integration-cli', 'fixtures', 'https', name),
        target: `../../../integration/testdata/https/${name}`,
      });
    }
  }
  return steps;
}
