import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import { goEnv, type Check, type CheckContext } from './context.js';
import { diffFiles } from './diff.js';
import { walkFiles } from './files.js';
import { fileFinding, type Finding } from './model.js';

/** hack/vendor.sh: every module is tidied, the root and man/ are vendored. */
const TIDIED = ['api', 'client', '.', 'man'];
const VENDORED = ['.', 'man'];
/** The modules of the repository beside the root one; a module zip (the module cache's tree) has none of them. */
const NESTED = ['api', 'client', 'man'];

/**
 * The modules to check: all four of hack/validate/vendor's, or, for a tree
 * made from the module zip (which leaves the nested modules out), the root.
 */
function modulesOf(dir: string): { tidied: string[]; vendored: string[]; missing: string[]; fromModuleZip: boolean } {
  const present = NESTED.filter((module) => existsSync(join(dir, module, 'go.mod')));
  const fromModuleZip = present.length === 0;
  const has = (module: string) => module === '.' || present.includes(module);
  return {
    tidied: TIDIED.filter(has),
    vendored: VENDORED.filter(has),
    missing: fromModuleZip ? [] : NESTED.filter((module) => !has(module)),
    fromModuleZip,
  };
}

const moduleFile = (module: string, name: string) => (module === '.' ? name : `${module}/${name}`);

/** A copy of the tree without .git and vendor/, for go to rewrite; the tree itself is never written. */
async function scratchCopy(context: CheckContext): Promise<string> {
  const scratch = await mkdtemp(join(context.cacheDir, 'validate-vendor-'));
  const skipped = new Set(['.git', 'vendor', 'man/vendor', 'bundles'].map((path) => join(context.tree.dir, path)));
  await cp(context.tree.dir, scratch, { recursive: true, filter: (source) => !skipped.has(source) });
  // The module cache's files are read-only, and go writes go.mod and go.sum in place.
  await run(['chmod', '-R', 'u+w', scratch], { env: context.env });
  return scratch;
}

async function goMod(context: CheckContext, cwd: string, subcommand: 'tidy' | 'vendor'): Promise<void> {
  const result = await run(['go', 'mod', subcommand], { cwd, env: goEnv(context.env), signal: context.signal });
  if (result.exitCode !== 0)
    throw new UserError(
      `go mod ${subcommand} failed in ${cwd}: ${lastLine(result.stderr)}`,
      'Its output says which module; fix go.mod, or check that the Go module proxy is reachable.',
    );
}

/** What go mod tidy changed in a module's go.mod and go.sum, line by line, at the tree's line numbers. */
async function tidyFindings(context: CheckContext, scratch: string, modules: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const module of modules) {
    for (const name of ['go.mod', 'go.sum']) {
      const file = moduleFile(module, name);
      const original = join(context.tree.dir, file);
      const tidied = join(scratch, file);
      if (!existsSync(original)) {
        if (existsSync(tidied)) findings.push(fileFinding(file, 1, 1, 'missing: go mod tidy writes it', 'vendor'));
        continue;
      }
      const change = await diffFiles(original, tidied, context.env);
      for (const { line, text } of change?.removed ?? []) findings.push(fileFinding(file, line, 1, `go mod tidy removes "${text.trim()}"`, 'vendor'));
      for (const { line, text } of change?.added ?? []) findings.push(fileFinding(file, line, 1, `go mod tidy adds "${text.trim()}"`, 'vendor'));
    }
  }
  return findings;
}

/** vendor/ as go mod vendor writes it, against the tree's: files it adds, drops or changes. */
async function vendorFindings(context: CheckContext, scratch: string, module: string): Promise<Finding[]> {
  const folder = moduleFile(module, 'vendor');
  const filesIn = async (dir: string) => (existsSync(dir) ? walkFiles(dir) : []);
  const mine = new Set(await filesIn(join(context.tree.dir, folder)));
  const generated = await filesIn(join(scratch, folder));
  const findings: Finding[] = [];
  for (const file of generated) {
    const path = `${folder}/${file}`;
    if (!mine.delete(file)) findings.push(fileFinding(path, 1, 1, 'missing: go mod vendor writes it', 'vendor'));
    else if (!(await readFile(join(context.tree.dir, path))).equals(await readFile(join(scratch, path)))) {
      findings.push(fileFinding(path, 1, 1, 'differs from what go mod vendor writes', 'vendor'));
    }
  }
  for (const file of mine) findings.push(fileFinding(`${folder}/${file}`, 1, 1, 'not written by go mod vendor: stale', 'vendor'));
  return findings;
}

/** hack/validate/vendor's licence check, a warning there too: a vendored module without a LICENSE or COPYING file. */
async function unlicensed(vendorDir: string): Promise<string[]> {
  const modulesTxt = join(vendorDir, 'modules.txt');
  if (!existsSync(modulesTxt)) return [];
  const modules = (await readFile(modulesTxt, 'utf8')).split('\n').flatMap((line) => (line.startsWith('# ') ? [line.split(' ')[1] ?? ''] : []));
  const warnings: string[] = [];
  for (const module of modules.filter(Boolean)) {
    const dir = join(vendorDir, module);
    if (!existsSync(dir)) continue;
    const names = await readdir(dir);
    if (!names.some((name) => /^(LICENSE|COPYING)/i.test(name))) warnings.push(`WARNING: could not find copyright information for ${module}`);
  }
  return warnings;
}

/**
 * hack/validate/vendor: go mod tidy for every module and go mod vendor for
 * the vendored ones, in a scratch copy with the module proxy as the only
 * network, then what they changed compared with the tree.
 */
export const vendor: Check = async (context) => {
  const { tidied, vendored, missing, fromModuleZip } = modulesOf(context.tree.dir);
  const findings: Finding[] = missing.map((module) => fileFinding(`${module}/go.mod`, 1, 1, 'missing: hack/vendor.sh tidies this module', 'vendor'));
  const notes: string[] = [];
  if (fromModuleZip) notes.push('the tree comes from the module zip, which has no api/, client/ or man/ module: the root module is checked');
  const scratch = await scratchCopy(context);
  try {
    for (const module of tidied) {
      context.progress(`go mod tidy in ${module}`);
      await goMod(context, join(scratch, module), 'tidy');
    }
    findings.push(...(await tidyFindings(context, scratch, tidied)));
    for (const module of vendored) {
      context.progress(`go mod vendor in ${module}`);
      await goMod(context, join(scratch, module), 'vendor');
      const folder = moduleFile(module, 'vendor');
      if (existsSync(join(context.tree.dir, folder)) || !fromModuleZip) findings.push(...(await vendorFindings(context, scratch, module)));
      else notes.push(`${folder}/ is not in the tree (module zips leave it out): go mod vendor's result is checked for licences only`);
      notes.push(...(await unlicensed(join(scratch, folder))));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { findings, notes };
};
