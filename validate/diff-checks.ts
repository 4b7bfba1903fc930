import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import { goEnv, NO_HISTORY, type Check } from './context.js';
import { changesSinceBase, type FileChange } from './diff.js';
import { fileFinding, type Finding } from './model.js';

/** hack/validate/pkg-imports: pkg/ is meant to be importable on its own, so it may not pull in moby's other packages. */
export const pkgImports: Check = async ({ tree, base, env }) => {
  if (!base) return { findings: [], notes: [NO_HISTORY] };
  const changed = await changesSinceBase(tree, base, ['pkg/*.go'], env);
  const findings: Finding[] = [];
  for (const { path } of changed) {
    const listed = await run(['go', 'list', '-e', '-f', '{{ join .Deps "\\n" }}', `./${path}`], { cwd: tree.dir, env: goEnv(env) });
    if (listed.exitCode !== 0) throw new UserError(`go list ${path} failed: ${lastLine(listed.stderr)}`);
    const bad = [...new Set(listed.stdout.split('\n'))].filter(
      (dep) => /^github\.com\/moby\/moby/.test(dep) && !/^github\.com\/moby\/moby\/v2\/(pkg\/|vendor|internal)/.test(dep),
    );
    if (bad.length === 0) continue;
    const lines = (await readFile(join(tree.dir, path), 'utf8')).split('\n');
    for (const dep of bad.sort()) {
      const direct = lines.findIndex((line) => line.includes(`"${dep}"`));
      const message = direct >= 0 ? `imports ${dep}, which is outside pkg/` : `imports ${dep} indirectly, which is outside pkg/`;
      findings.push(fileFinding(path, direct + 1, 1, message, 'pkg-imports'));
    }
  }
  return { findings, notes: [`${changed.length} changed Go file(s) under pkg/`] };
};

/** `^\+func (.*) Test` of hack/validate/deprecate-integration-cli, on the added line's text. */
const NEW_TEST = /^func (.*) Test/;

/** hack/validate/deprecate-integration-cli: integration-cli is frozen; new tests belong in integration/. */
export const deprecateIntegrationCli: Check = async ({ tree, base, env }) => {
  if (!base) return { findings: [], notes: [NO_HISTORY] };
  const changed = await changesSinceBase(tree, base, ['integration-cli/*_api_*.go', 'integration-cli/*_cli_*.go'], env);
  const findings = changed.flatMap(({ path, added }) =>
    added
      .filter(({ text }) => NEW_TEST.test(text))
      .map(({ line, text }) =>
        fileFinding(
          path,
          line,
          1,
          `new test added to integration-cli (${text.trim()}); add an API test to ./integration/COMPONENT/ instead`,
          'deprecate-integration-cli',
        ),
      ),
  );
  return { findings, notes: [] };
};

const API_PATHSPECS = [
  'api/',
  ':(exclude)api/*_test.go',
  ':(exclude)api/**/*_test.go',
  ':(exclude)api/Dockerfile',
  ':(exclude)api/README.md',
  ':(exclude)api/swagger.yaml',
  ':(exclude)api/docs/',
];
const CLIENT_PATHSPECS = ['client/', ':(exclude)client/*_test.go', ':(exclude)client/**/*_test.go'];

/** The +/- lines of a diff that say something (hack/validate/module-replace drops empty ones). */
function contentLines(changes: FileChange[]): string[] {
  return changes.flatMap(({ added, removed }) => [...added, ...removed].map(({ text }) => text).filter((text) => text.trim() !== ''));
}

/**
 * hack/validate/module-replace: the api and client modules live in the same
 * repository, so a change to them only reaches the daemon through a replace
 * rule; a client change that only moves its api requirement needs none.
 */
export const moduleReplace: Check = async ({ tree, base, env }) => {
  if (!base) return { findings: [], notes: [NO_HISTORY] };
  const findings: Finding[] = [];
  const notes: string[] = [];
  const replaced = async (module: string) => {
    const listed = await run(['go', 'list', '-mod=readonly', '-m', '-json', module], { cwd: tree.dir, env: goEnv(env) });
    // Not required at all: no replace rule either (upstream's `go list | jq -e .Replace` fails the same way).
    if (listed.stderr.includes('not a known dependency')) return false;
    if (listed.exitCode !== 0) throw new UserError(`go list -m ${module} failed: ${lastLine(listed.stderr)}`);
    return Boolean((JSON.parse(listed.stdout) as { Replace?: unknown }).Replace);
  };
  const goModLine = async (module: string) => {
    const lines = (await readFile(join(tree.dir, 'go.mod'), 'utf8')).split('\n');
    return lines.findIndex((line) => line.includes(`${module} `)) + 1;
  };
  const missing = async (module: string, directory: string) =>
    fileFinding(
      'go.mod',
      await goModLine(module),
      1,
      `changes in ./${directory} need a replace rule for ${module} (run ./hack/vendor.sh replace)`,
      'module-replace',
    );

  // TEST_FORCE_VALIDATE: upstream's switch for checking the rules without a change.
  const forced = Boolean(env.TEST_FORCE_VALIDATE);
  const api = contentLines(await changesSinceBase(tree, base, API_PATHSPECS, env));
  if (forced || api.length > 0) {
    notes.push(`./api changed (${api.length} lines)`);
    if (!(await replaced('github.com/moby/moby/api'))) findings.push(await missing('github.com/moby/moby/api', 'api'));
  }
  const client = contentLines(await changesSinceBase(tree, base, CLIENT_PATHSPECS, env));
  if (forced || client.length > 0) {
    notes.push(`./client changed (${client.length} lines)`);
    const onlyApiRevision = client.length > 0 && client.every((line) => line.includes('github.com/moby/moby/api'));
    if (onlyApiRevision) notes.push('the ./client change only moves its github.com/moby/moby/api revision');
    else if (!(await replaced('github.com/moby/moby/client'))) findings.push(await missing('github.com/moby/moby/client', 'client'));
  }
  return { findings, notes };
};
