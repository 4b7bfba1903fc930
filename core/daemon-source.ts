import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors.js';
import type { Env } from './env.js';
import type { Manifest, SourceRecord } from './manifest.js';
import { lastLine, run } from './process.js';

/** The moby tree the bundled dockerd was built from: where its tests are compiled and `validate` lints. */
export interface DaemonSource {
  dir: string;
  kind: SourceRecord['kind'];
  /** e.g. v2.0.0-beta.21, or a commit for a checkout. */
  version: string;
  /** False for a contributor's checkout: moby's own tests may write into it as they do there. */
  keepPristine: boolean;
}

const DAEMON_COMPONENT = 'daemon';

/**
 * Reads the source of the bundle's dockerd from its manifest and finds that
 * exact tree: a module version in the module cache (fetched and verified by
 * `go mod download` if it is not there), a pinned commit's cached checkout, or
 * the contributor's DAEMON_SRC checkout. Asking for another source than the
 * bundle was built from is an error, since the tests would not test that daemon.
 */
export async function resolveDaemonSource(manifest: Manifest, env: Env, cacheDir: string): Promise<DaemonSource> {
  const component = manifest.components[DAEMON_COMPONENT];
  if (!component) throw new UserError('the bundle has no dockerd (no daemon component in its manifest.json)', 'Build it first: npm run make');
  const built = component.source;
  const askedPath = env.DAEMON_SRC ? resolve(env.DAEMON_SRC) : undefined;
  const askedVersion = env.DAEMON_VERSION;
  const rebuild = 'Run npm run make with the same variables first, so the daemon under test is built from that source.';

  if (askedVersion && askedVersion !== built.version && !askedPath) {
    throw new UserError(`DAEMON_VERSION=${askedVersion}, but the bundle's dockerd was built from ${describe(built)}`, rebuild);
  }
  switch (built.kind) {
    case 'path': {
      if (!askedPath) {
        throw new UserError(
          `the bundle's dockerd was built from a local checkout (${describe(built)}) and DAEMON_SRC is not set`,
          'Set DAEMON_SRC to that checkout, or rebuild without it.',
        );
      }
      const head = (await run(['git', '-C', askedPath, 'rev-parse', 'HEAD'], { env })).stdout.trim();
      if (built.commit && head && head !== built.commit) {
        throw new UserError(
          `DAEMON_SRC=${askedPath} is at ${head.slice(0, 12)}, but the bundle's dockerd was built from ${built.commit.slice(0, 12)}`,
          rebuild,
        );
      }
      return { dir: askedPath, kind: 'path', version: built.version, keepPristine: false };
    }
    case 'module': {
      if (askedPath) throw new UserError(`DAEMON_SRC=${askedPath} is set, but the bundle's dockerd was built from ${describe(built)}`, rebuild);
      return { dir: await moduleDir(`${built.origin.module}@${built.origin.version}`, env), kind: 'module', version: built.version, keepPristine: true };
    }
    case 'git': {
      if (askedPath) throw new UserError(`DAEMON_SRC=${askedPath} is set, but the bundle's dockerd was built from ${describe(built)}`, rebuild);
      const dir = join(cacheDir, 'git', built.commit ?? '');
      if (!built.commit || !existsSync(join(dir, 'go.mod'))) {
        throw new UserError(
          `the checkout the bundle's dockerd was built from (${describe(built)}) is no longer in ${join(cacheDir, 'git')}`,
          'Run npm run make to fetch it again.',
        );
      }
      return { dir, kind: 'git', version: built.version, keepPristine: true };
    }
    case 'debian-source':
      throw new UserError(`the bundle's dockerd comes from a Debian source package (${describe(built)}), which has no Go test tree here`);
  }
}

function describe(source: SourceRecord): string {
  const commit = source.commit ? ` (commit ${source.commit.slice(0, 12)}${source.dirty ? ', with uncommitted changes' : ''})` : '';
  return `${source.kind} ${source.version}${commit}`;
}

/** `go mod download -json` names the module's folder in the module cache, downloading and verifying it when missing. */
async function moduleDir(moduleAtVersion: string, env: Env): Promise<string> {
  return (await moduleDownload(moduleAtVersion, env)).Dir;
}

/** The module's folder and its `.info` file (whose Time is the commit's), downloaded and verified when missing. */
export async function moduleDownload(moduleAtVersion: string, env: Env): Promise<{ Dir: string; Info?: string }> {
  const result = await run(['go', 'mod', 'download', '-json', moduleAtVersion], { env: { ...env, GOTOOLCHAIN: 'local', GOFLAGS: '' }, cwd: '/' });
  const parsed = parseDownload(result.stdout);
  if (result.exitCode !== 0 || !parsed?.Dir) {
    throw new UserError(
      `go mod download ${moduleAtVersion} failed: ${parsed?.Error ?? lastLine(result.stderr)}`,
      'Check that the Go module proxy is reachable (go env GOPROXY).',
    );
  }
  return { Dir: parsed.Dir, ...(parsed.Info ? { Info: parsed.Info } : {}) };
}

function parseDownload(text: string): { Dir?: string; Info?: string; Error?: string } | undefined {
  try {
    return JSON.parse(text) as { Dir?: string; Info?: string; Error?: string };
  } catch {
    return undefined;
  }
}
