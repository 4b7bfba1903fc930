import type { CMakeRecipe, ResolvedSource, TextEdit } from '../model.js';
import { OUT, SRC, WORK, type Step } from './steps.js';

/** The writable copy the build runs in: sources are read-only caches. */
const BUILD = `${WORK}/src`;

/**
 * A literal replacement that fails when the text is missing, so an edit made
 * for one release cannot silently do nothing on another. Run with node (the
 * engine's own runtime) to avoid sed's escaping rules.
 */
const EDIT_SCRIPT = [
  "const fs = require('node:fs');",
  'const [file, find, replace] = process.argv.slice(1);',
  "const text = fs.readFileSync(file, 'utf8');",
  'if (!text.includes(find)) { console.error(`${file} does not contain ${JSON.stringify(find)}`); process.exit(1); }',
  'fs.writeFileSync(file, text.split(find).join(replace));',
].join(' ');

/**
 * `cmake . && make <target>` in a copy of the tree, as moby's tini installer
 * does, then the outputs into the bundle. Debug paths are mapped to `.` so the
 * binary does not depend on where the staging folder happens to be.
 */
export function cmakeSteps(recipe: CMakeRecipe, source: ResolvedSource): Step[] {
  const env = { CFLAGS: `-ffile-prefix-map=${BUILD}=.` };
  return [
    { kind: 'copy-tree', from: SRC, to: BUILD },
    ...(recipe.edits?.(source) ?? []).map((edit) => editStep(edit)),
    { kind: 'exec', argv: ['cmake', ...recipe.configureArgs(source), '.'], cwd: BUILD, env },
    { kind: 'exec', argv: ['make', recipe.target], cwd: BUILD, env },
    ...Object.entries(recipe.outputs).map(([built, output]): Step => ({ kind: 'copy', from: `${BUILD}/${built}`, to: `${OUT}/${output}`, mode: 0o755 })),
  ];
}

function editStep(edit: TextEdit): Step {
  return { kind: 'exec', argv: ['node', '-e', EDIT_SCRIPT, `${BUILD}/${edit.file}`, edit.find, edit.replace], cwd: BUILD, env: {} };
}
