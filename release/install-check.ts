import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import { quoteShellWord } from '../core/shell-quote.js';
import { DEB_PACKAGES, STATIC_TARBALLS } from './layout.js';

/**
 * Proof that a release installs the way a user installs it: the .debs with
 * `apt-get install ./*.deb` in a clean Debian container (privileged, as
 * docker-in-docker is), dockerd from them running a container, `apt-get
 * purge` leaving none of their files; then the static tarball unpacked into
 * an empty folder doing the same. The container and its data volume are
 * removed however it ends.
 */
export type InstallStage = 'debs-installed' | 'engine-ran' | 'debs-purged' | 'static-ran';

export type InstallCheckEvent =
  | { type: 'container'; image: string; engine: string }
  | { type: 'stage'; stage: InstallStage; detail: string; seconds: number }
  | { type: 'finished'; release: string; seconds: number };

export interface InstallCheckOptions {
  releaseDir: string;
  /** The docker CLI and the engine the check's container runs on. */
  docker: string;
  dockerHost: string;
  /** A Debian image of the release the packages were built for (`debian:bookworm`). */
  baseImage: string;
  /** An image of the engine above that the installed engine runs (it cannot pull). */
  runImage: string;
  env: Env;
  onEvent: (event: InstallCheckEvent) => void;
}

/** Long enough for a cold dockerd under a loaded CI machine; a daemon that never answers fails the check. */
const ENGINE_DEADLINE_SECONDS = 60;
const MARKER = 'moby-make-install-check-ran';

export async function installCheck(options: InstallCheckOptions): Promise<void> {
  const started = Date.now();
  const { releaseDir } = options;
  const names = readdirSync(releaseDir);
  const debs = names.filter((name) => name.endsWith('.deb'));
  const tarball = names.find((name) => new RegExp(`^${STATIC_TARBALLS[0]?.name}-.*\\.tgz$`).test(name));
  if (debs.length !== DEB_PACKAGES.length || !tarball) {
    throw new UserError(
      `${releaseDir} does not hold a whole release (${debs.length} .deb, ${tarball ? 'a' : 'no'} static tarball)`,
      'Make one: npm run package',
    );
  }
  const docker = (args: readonly string[]) => run([options.docker, ...args], { env: { ...options.env, DOCKER_HOST: options.dockerHost } });
  const name = `moby-make-install-check-${process.pid}`;
  const scratch = await mkdtemp(join(tmpdir(), 'moby-make-install-check-'));
  const must = async (what: string, args: readonly string[]) => {
    const result = await docker(args);
    if (result.exitCode !== 0) throw new UserError(`install check: ${what} failed: ${lastLine(result.stderr || result.stdout)}`);
    return result.stdout;
  };
  const inside = (what: string, script: string) => must(what, ['exec', name, 'sh', '-ec', script]);
  const stage = async (stageName: InstallStage, body: () => Promise<string>) => {
    const at = Date.now();
    const detail = await body();
    options.onEvent({ type: 'stage', stage: stageName, detail, seconds: (Date.now() - at) / 1000 });
  };

  const image = join(scratch, 'image.tar');
  await must(`saving ${options.runImage}`, ['save', '-o', image, options.runImage]);
  // A volume for the inner engines' data: overlayfs cannot stack on the container's own overlay root.
  await must(`starting ${options.baseImage}`, ['run', '-d', '--privileged', '--name', name, '-v', '/var/lib/docker', options.baseImage, 'sleep', 'infinity']);
  options.onEvent({ type: 'container', image: options.baseImage, engine: options.dockerHost });
  try {
    await must('copying the release in', ['cp', releaseDir, `${name}:/release`]);
    await must('copying the image in', ['cp', image, `${name}:/tmp/image.tar`]);
    const packages = DEB_PACKAGES.map((pkg) => pkg.name);
    await stage('debs-installed', async () => {
      await inside(
        'apt-get install ./*.deb',
        'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /release/*.deb >/dev/null',
      );
      return (await inside('dpkg-query', `dpkg-query -W -f '\${Package} \${Version}\\n' ${packages.join(' ')}`)).trim().split('\n').join(', ');
    });
    await stage('engine-ran', () => runEngine(inside, '', '/var/lib/docker/installed'));
    await stage('debs-purged', async () => {
      const leftovers = await inside(
        'apt-get purge',
        `dpkg-query -L ${packages.join(' ')} | sort -u > /tmp/package-files
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${packages.join(' ')} >/dev/null
# a path is left over when it exists and no other package owns it
while read -r path; do
  if [ "$path" != / ] && [ "$path" != /. ] && [ -e "$path" ] && ! dpkg-query -S "$path" >/dev/null 2>&1; then echo "$path"; fi
done < /tmp/package-files`,
      );
      if (leftovers.trim()) throw new UserError(`install check: apt-get purge left files behind: ${leftovers.trim().split('\n').join(', ')}`);
      return `${packages.length} packages purged, none of their files left`;
    });
    await stage('static-ran', async () => {
      await inside(`unpacking ${tarball}`, `mkdir /static && tar -xzf ${quoteShellWord(`/release/${tarball}`)} -C /static`);
      return runEngine(inside, '/static/docker/', '/var/lib/docker/static');
    });
  } finally {
    await docker(['rm', '-f', '-v', name]);
    await rm(scratch, { recursive: true, force: true });
  }
  options.onEvent({ type: 'finished', release: releaseDir, seconds: (Date.now() - started) / 1000 });
}

/**
 * dockerd (from PATH, or from `binDir` with its siblings first on PATH, as
 * the static tarball is used), its own data-root, the image loaded, a
 * container run; then the engine stopped and waited for.
 */
async function runEngine(inside: (what: string, script: string) => Promise<string>, binDir: string, dataRoot: string): Promise<string> {
  const path = binDir ? `PATH=${binDir}:$PATH ` : '';
  const output = await inside(
    `dockerd ${binDir ? 'from the static tarball' : 'from the .debs'}`,
    `${path}dockerd --data-root ${dataRoot} > ${dataRoot}.log 2>&1 &
engine=$!
i=0
until ${binDir}docker version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt ${ENGINE_DEADLINE_SECONDS} ] || ! kill -0 $engine 2>/dev/null; then echo "dockerd did not answer in ${ENGINE_DEADLINE_SECONDS}s:" >&2; tail -3 ${dataRoot}.log >&2; exit 1; fi
  sleep 1
done
${binDir}docker version --format 'dockerd {{.Server.Version}}, containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}'
${binDir}docker load -q -i /tmp/image.tar >/dev/null
image=$(${binDir}docker images -q | head -n 1)
${binDir}docker run --rm "$image" echo ${MARKER}
kill $engine
while kill -0 $engine 2>/dev/null; do sleep 0.2; done`,
  );
  const lines = output.trim().split('\n');
  if (lines[1] !== MARKER) throw new UserError(`install check: the container printed ${JSON.stringify(lines.slice(1).join(' '))}, not ${MARKER}`);
  return `${lines[0]} ran a container`;
}
