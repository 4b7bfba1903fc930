import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.js';
import { acquireLock } from '../core/lock.js';
import { packageRelease, SIGN_KEY_VARIABLE } from '../release/package.js';
import { releaseDir, verifyKey, verifyRelease, VERIFY_KEY_VARIABLE } from '../release/verify.js';
import { nextSteps } from './cli/commands.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from './paths.js';
import { createRenderer, outputMode } from './render/choose.js';
import { installCheckLines, packageLines, releaseVerifyLines } from './render/package-lines.js';
import { hostDebianRelease } from '../core/debian-base-image.js';
import { installPolicy } from '../core/requirements.js';
import { ensureBaseImage } from '../devcontainer/dev-image.js';
import { installCheck } from '../release/install-check.js';
import { dockerCli } from './cli/dev-container-session.js';
import { shellEngine } from './lib/shell-engine.js';
import { join } from 'node:path';

/** The frozen image moby's harness loads into every engine (npm run frozen-images). */
const DEFAULT_RUN_IMAGE = 'busybox:latest';

const HELP = `Usage: npm run package -- [options]
       npm run package -- verify [--dir DIR] --key cosign.pub
       npm run package -- install-check [--dir DIR] [--image REF]

Makes Docker's release artifacts from bundles/binary-daemon and
bundles/binary-client, as docker-ce-packaging lays them out, into
bundles/release/<version>/:
  docker-<ver>.tgz, docker-rootless-extras-<ver>.tgz   the static tarballs
  docker-ce, docker-ce-cli, docker-ce-rootless-extras, containerd.io .debs
  binary-daemon-<ver>.spdx.json, binary-client-<ver>.spdx.json   SPDX 2.3 SBOMs
  provenance.intoto.jsonl   in-toto SLSA v1 provenance in a DSSE envelope
  SHA256SUMS, and .sha256/.md5 beside each artifact
<ver> follows gen-static-ver (the tag without v; 0.0.0-<time>-<commit> for a
dev tree). Every bundle file is checked against its manifest first; the
release appears all at once or not at all. Same bundle, same bytes
(timestamps from SOURCE_DATE_EPOCH or the daemon's commit time), except the
provenance's signature.

verify checks the provenance's signature with the public key, that its
subjects are exactly the artifacts, SHA256SUMS, and that every binary in the
tarballs is in an SBOM with its sha256.

install-check proves the release installs: in a privileged debian:<release>
container on DOCKER_HOST or the dev daemon (started when it is not running),
apt-get install of the .debs, their dockerd running a container of --image
(saved from that engine: the inner one cannot pull), apt-get purge leaving
none of their files, then the static tarball unpacked and run the same way.

Options:
  --allow-dirty    package bundles built from a tree with uncommitted changes
  --sign           fail unless ${SIGN_KEY_VARIABLE} is set (with it set, signing is on anyway)
  --no-lintian     skip lintian (it is installed with apt-get when missing)
  --dir DIR        verify: the release folder (default: the newest under bundles/release)
  --key PATH       verify: the public key (default: ${VERIFY_KEY_VARIABLE})
  --image REF      install-check: the image the installed engine runs (default: ${DEFAULT_RUN_IMAGE})
  --bundles DIR    the bundles root (default: bundles, or MOBY_MAKE_BUNDLES)
  --output MODE    plain (a line per event) or json (an event per line)
  --verbose        show stack traces for unexpected errors
  --help           this text

Environment: ${SIGN_KEY_VARIABLE} (a cosign.key or PEM private key) and
  COSIGN_PASSWORD, SOURCE_DATE_EPOCH, ${VERIFY_KEY_VARIABLE}.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      'allow-dirty': { type: 'boolean', default: false },
      sign: { type: 'boolean', default: false },
      'no-lintian': { type: 'boolean', default: false },
      dir: { type: 'string' },
      key: { type: 'string' },
      image: { type: 'string', default: DEFAULT_RUN_IMAGE },
      bundles: { type: 'string' },
      output: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP + nextSteps('package'));
    return 0;
  }
  const env = process.env;
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  const [verb, ...rest] = positionals;
  if (rest.length > 0 || (verb !== undefined && verb !== 'verify' && verb !== 'install-check'))
    throw new UsageError(`unexpected argument ${positionals.join(' ')}`, 'Run npm run package, or npm run package -- verify or install-check.');
  const mode = outputMode(values.output === 'tty' ? 'plain' : values.output, env, false);
  const chosenRelease = () => releaseDir(bundlesDir, values.dir ? resolve(values.dir) : undefined);
  if (verb === 'verify') {
    const renderer = createRenderer(mode, { lines: releaseVerifyLines });
    const ok = await verifyRelease(chosenRelease(), verifyKey(values.key, env), renderer.onEvent);
    await renderer.finished();
    return ok ? 0 : 1;
  }
  if (verb === 'install-check') {
    const dir = chosenRelease();
    const signal = interruptSignal();
    const engine = await shellEngine(bundlesDir, env, signal);
    const renderer = createRenderer(mode, { lines: installCheckLines });
    try {
      if (engine.started) renderer.onEvent({ type: 'dev-daemon-started', ...engine.started });
      const release = hostDebianRelease() ?? 'bookworm';
      const container = { projectRoot, docker: dockerCli(bundlesDir, env), dockerHost: engine.dockerHost, release, env };
      await ensureBaseImage({
        ...container,
        onEvent: renderer.onEvent,
        install: installPolicy(env, (packages) => renderer.onEvent({ type: 'installing', packages })),
      });
      await installCheck({ ...container, releaseDir: dir, baseImage: `debian:${release}`, runImage: values.image, onEvent: renderer.onEvent });
      return 0;
    } finally {
      await renderer.finished();
    }
  }
  const renderer = createRenderer(mode, { lines: packageLines });
  const release = await acquireLock(join(bundlesDir, 'package.lock'), 'npm run package');
  try {
    await packageRelease({
      bundlesDir,
      cacheDir: defaultCacheDir(env),
      env,
      allowDirty: values['allow-dirty'],
      requireSignature: values.sign,
      lint: !values['no-lintian'],
      onEvent: renderer.onEvent,
    });
    return 0;
  } finally {
    await release();
    await renderer.finished();
  }
}

await runMain(main);
