import { cTarget, crossCompiler, type Platform } from '../../core/platform.js';
import type { CMakeRecipe, ResolvedSource, TextEdit } from '../model.js';
import { OUT, SRC, WRITABLE_SRC as BUILD, type Step } from './steps.js';

/**
 * `cmake . && make <target>` in a copy of the tree, as moby's tini installer
 * does, then the outputs into the bundle. Debug paths are mapped to `.` so the
 * binary does not depend on where the staging folder happens to be.
 */
export function cmakeSteps(recipe: CMakeRecipe, source: ResolvedSource, cross?: Platform): Step[] {
  const target = cross && cTarget(cross, 'a cmake build');
  const cflags = [`-ffile-prefix-map=${BUILD}=.`, ...(target?.cgoCflags ? [target.cgoCflags] : [])].join(' ');
  // CMake takes the compiler from CC; Debian's cross compiler links against the target's libc.a (libc6-dev-<arch>-cross).
  const env: Record<string, string> = { CFLAGS: cflags, ...(target ? { CC: crossCompiler(target).command } : {}) };
  return [
    { kind: 'copy-tree', from: SRC, to: BUILD },
    ...(recipe.edits?.(source) ?? []).map((edit) => editStep(edit)),
    { kind: 'exec', argv: ['cmake', ...recipe.configureArgs(source), '.'], cwd: BUILD, env },
    { kind: 'exec', argv: ['make', recipe.target], cwd: BUILD, env },
    ...Object.entries(recipe.outputs).map(([built, output]): Step => ({ kind: 'copy', from: `${BUILD}/${built}`, to: `${OUT}/${output}`, mode: 0o755 })),
  ];
}

function editStep(edit: TextEdit): Step {
  return { kind: 'edit', file: `${BUILD}/${edit.file}`, find: edit.find, replace: edit.replace };
}
