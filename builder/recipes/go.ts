import { UserError } from '../../core/errors.js';
import { cTarget, crossCompiler, crossPkgConfig, type Platform } from '../../core/platform.js';
import type { CopiedFile, GoRecipe, ResolvedSource, StampContext } from '../model.js';
import { OUT, SRC, WRITABLE_SRC, extraSourcePlaceholder, type Step } from './steps.js';

/** One `go build` per binary, exactly as a Makefile would spell it; `cross` names another target than this machine. */
export function goSteps(recipe: GoRecipe, source: ResolvedSource, stampContext: StampContext, cross?: Platform): Step[] {
  const stamps = Object.entries(recipe.stamp(source, stampContext)).map(([name, value]) => `-X ${quoteLdflag(`${name}=${value}`)}`);
  const ldflags = [...recipe.ldflags, ...stamps].join(' ');
  const env: Record<string, string> = {
    CGO_ENABLED: recipe.cgo ? '1' : '0',
    // Never let go fetch another toolchain behind the user's back; the version check says what to install.
    GOTOOLCHAIN: 'local',
    // We stamp versions ourselves; VCS stamping fails in read-only module trees.
    GOFLAGS: '-buildvcs=false',
    ...(cross ? crossGoEnv(recipe, cross) : {}),
    ...recipe.env,
  };
  const cflags = cross && recipe.cgo ? cTarget(cross, 'cgo').cgoCflags : undefined;
  if (cflags) env.CGO_CFLAGS = [cflags, recipe.env?.CGO_CFLAGS].filter(Boolean).join(' ');
  const cwd = recipe.inTreeCopies ? WRITABLE_SRC : SRC;
  const builds = recipe.binaries.map((binary): Step => {
    const tags = [...recipe.tags, ...(binary.extraTags ?? [])];
    const argv = ['go', 'build', '-trimpath'];
    if (recipe.buildmode) argv.push(`-buildmode=${recipe.buildmode}`);
    if (recipe.gcflags) argv.push(`-gcflags=${recipe.gcflags}`);
    if (tags.length > 0) argv.push('-tags', tags.join(' '));
    argv.push('-ldflags', ldflags, '-o', `${OUT}/${binary.output}`, binary.package);
    return { kind: 'exec', argv, cwd, env };
  });
  return recipe.inTreeCopies ? [...writableCopySteps(recipe.inTreeCopies), ...builds] : builds;
}

/**
 * Go's target, and for cgo Debian's cross compiler with the target's
 * multiarch libraries, as moby's Dockerfile gets them from xx-go (CC,
 * PKG_CONFIG); the arm variants' -march is moby's hack/make/.binary's.
 */
function crossGoEnv(recipe: GoRecipe, cross: Platform): Record<string, string> {
  if (!recipe.cgo) return cross.goEnv;
  const target = cTarget(cross, 'cgo');
  return { ...target.goEnv, CC: crossCompiler(target).command, ...crossPkgConfig(target) };
}

/** A writable copy of the tree with files copied inside it, e.g. vendor.mod → go.mod. */
function writableCopySteps(inTreeCopies: Record<string, string>): Step[] {
  return [
    { kind: 'copy-tree', from: SRC, to: WRITABLE_SRC },
    ...Object.entries(inTreeCopies).map(([from, to]): Step => ({ kind: 'copy', from: `${WRITABLE_SRC}/${from}`, to: `${WRITABLE_SRC}/${to}`, mode: 0o644 })),
  ];
}

export function copySteps(copies: readonly CopiedFile[]): Step[] {
  return copies.map((copy) => ({
    kind: 'copy',
    from: `${copy.from === 'main' ? SRC : extraSourcePlaceholder(copy.from)}/${copy.path}`,
    to: `${OUT}/${copy.output}`,
    mode: copy.mode,
  }));
}

/** Go splits -ldflags on spaces unless a value is quoted; its quoting has no escapes. */
function quoteLdflag(assignment: string): string {
  if (!/[\s'"]/.test(assignment)) return assignment;
  if (!assignment.includes("'")) return `'${assignment}'`;
  if (!assignment.includes('"')) return `"${assignment}"`;
  throw new UserError(`cannot pass ${assignment} to the Go linker: it contains both kinds of quote`);
}
