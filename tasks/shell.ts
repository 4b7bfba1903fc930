import { nextSteps } from './cli/commands.js';
import { openDevSession, runInDevSession } from './cli/dev-container-session.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { defaultBundlesDir, projectRoot } from './paths.js';

const HELP = `Usage: npm run shell [-- command…]

Builds the dev image from Dockerfile.dev and runs it, privileged, with this
checkout mounted at the same path: a shell, or the command given
(e.g. npm run shell -- npm run make). moby's \`make shell\`.

Engine: DOCKER_HOST when set, else the dev daemon; when it is not running, the
shell builds what it needs (npm run make's daemon and client bundles) and starts
it in the background, where it stays for the next shell.
Environment: BASE_DEBIAN_DISTRO (default: this machine's release, else bookworm);
MOBY_MAKE_CACHE_REGISTRY to load the dev image from the shared cache instead of
building it, MOBY_MAKE_CACHE_PUSH=1 to offer it there.`;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(HELP + nextSteps('shell'));
    return 0;
  }
  const session = await openDevSession(projectRoot, defaultBundlesDir(process.env), process.env, interruptSignal());
  return runInDevSession(session, args.length > 0 ? args : ['bash']);
}

await runMain(main);
