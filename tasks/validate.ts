import { nextSteps } from './cli/commands.js';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MOBY } from '../components/lib/moby.js';
import { bundlePaths } from '../core/bundle-layout.js';
import { resolveDaemonSource } from '../core/daemon-source.js';
import { UsageError, UserError } from '../core/errors.js';
import { acquireLock } from '../core/lock.js';
import { readManifest } from '../core/manifest.js';
import { CHECK_DESCRIPTIONS, CHECKS, MAKE_VALIDATE, type CheckName } from '../validate/model.js';
import { runValidate } from '../validate/run.js';
import { GOLANGCI_LINT } from '../validate/golangci-lint.js';
import { SHFMT } from '../validate/shfmt.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { validateLines, validateRows } from './render/validate-lines.js';
import { defaultBundlesDir, defaultCacheDir } from './paths.js';

const HELP = `Usage: npm run validate -- [options] [checks…]

Runs moby's \`make validate\` (hack/validate/all) on the exact tree the
bundle's dockerd was built from: the module cache's release, the pinned
commit's checkout, or your DAEMON_SRC checkout with its edits. Each check is
hack/validate's script, reimplemented, with the upstream tool at moby's pin
(golangci-lint ${GOLANGCI_LINT.version}, shfmt ${SHFMT.version}, built once from the Go module proxy).
Nothing is written into the tree, but by --fix.

Checks (default: those of make validate; name some to run only them, as
make validate-<name> does; --list describes them):
  ${CHECKS.join(', ')}

Options:
  --list             the checks, and which run by default
  --base REF         the commit the diff-based checks compare with (default:
                     VALIDATE_UPSTREAM, VALIDATE_ORIGIN_BRANCH, else the pinned
                     release commit the checkout descends from; nothing is fetched)
  --fix              apply what shfmt -w and golangci-lint --fix can fix, to a
                     DAEMON_SRC checkout only, after listing the files
  --output MODE      tty (rows), plain (lines) or json (an event per line)
  --bundles DIR      bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)
  --verbose          show stack traces for unexpected errors
  --help             this text

Environment, as moby's scripts read it: DAEMON_SRC, VALIDATE_UPSTREAM,
VALIDATE_ORIGIN_BRANCH, GOLANGCI_LINT_OPTS (default --timeout=10m),
DOCKER_BUILDTAGS, TEST_FORCE_VALIDATE.

Results: a line per check and every finding as file:line:col: message (rule);
bundles/validate/junit-report.xml and report.json. Exit 1 when a check
fails, 2 on usage errors.`;

function listChecks(): string {
  const width = Math.max(...CHECKS.map((check) => check.length));
  return CHECKS.map((check) => `${check.padEnd(width)}  ${MAKE_VALIDATE.includes(check) ? 'default' : 'by name'}  ${CHECK_DESCRIPTIONS[check]}`).join('\n');
}

function parseChecks(names: readonly string[]): CheckName[] {
  if (names.length === 0) return [...MAKE_VALIDATE];
  return names.map((name) => {
    const check = CHECKS.find((known) => known === name.replace(/^validate-/, ''));
    if (!check) throw new UsageError(`${name} is not a check`, `The checks: ${CHECKS.join(', ')} (npm run validate -- --list describes them).`);
    return check;
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      list: { type: 'boolean', default: false },
      base: { type: 'string' },
      fix: { type: 'boolean', default: false },
      output: { type: 'string' },
      bundles: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP + nextSteps('validate'));
    return 0;
  }
  if (values.list) {
    console.log(listChecks());
    return 0;
  }
  const env = process.env;
  const checks = parseChecks(positionals);
  const renderer = createRenderer(outputMode(values.output, env), { lines: validateLines, rows: validateRows });
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  const release = await acquireLock(join(bundlesDir, 'validate.lock'), 'npm run validate');
  try {
    const bundleDir = bundlePaths(bundlesDir).current;
    const manifest = readManifest(bundleDir);
    if (!manifest.components.daemon)
      throw new UserError(`no bundle in ${bundleDir}: validate checks the tree its dockerd was built from`, 'Build it first: npm run make');
    const cacheDir = defaultCacheDir(env);
    const results = await runValidate({
      source: await resolveDaemonSource(manifest, env, cacheDir),
      checks,
      ...(values.base ? { base: values.base } : {}),
      pinnedRelease: MOBY.release,
      fix: values.fix,
      env,
      cacheDir,
      resultsDir: join(bundlesDir, 'validate'),
      signal: interruptSignal(),
      onEvent: renderer.onEvent,
    });
    return results.every((result) => result.outcome === 'passed') ? 0 : 1;
  } finally {
    await release();
    await renderer.finished();
  }
}

await runMain(main);
