import type { Env } from '../core/env.js';
import { unreachable } from '../core/errors.js';
import type { Requirement } from '../core/requirements.js';
import { SOURCE_KINDS, type SourceKind } from '../core/manifest.js';
import type { Platform } from '../core/platform.js';

export type { Requirement, SourceKind };
export { SOURCE_KINDS };

/**
 * The component model: what a file in components/ declares. Everything here is
 * data; the engine decides how and when to act on it.
 */

/** A Go module fetched by `go` itself and verified by go.sum and the checksum database. */
export interface ModuleSourceSpec {
  kind: 'module';
  module: string;
  version: string;
  /** The upstream commit the version tag points at, when known; stamped into binaries. */
  commit?: string;
  /** The module's go.sum hash (h1:…), when pinned: checked even where the checksum database is not used. */
  sum?: string;
}

/** A local checkout (a contributor's own tree). */
export interface PathSourceSpec {
  kind: 'path';
  dir: string;
}

/** A git repository at a ref that must resolve to the pinned commit. */
export interface GitSourceSpec {
  kind: 'git';
  url: string;
  ref: string;
  commit: string;
}

/** The upstream tarball of a Debian source package, pinned by sha256. */
export interface DebianSourceSpec {
  kind: 'debian-source';
  package: string;
  /** Debian package version, e.g. 0.19.0-1. */
  version: string;
  /** The file inside the source package, e.g. tini_0.19.0.orig.tar.gz. */
  file: string;
  sha256: string;
  /** Upstream version and commit the tarball was cut from (a tarball has no .git). */
  upstreamVersion: string;
  commit?: string;
}

export type SourceSpec = ModuleSourceSpec | PathSourceSpec | GitSourceSpec | DebianSourceSpec;

/** A verified local tree, ready to build. */
export interface ResolvedSource {
  kind: SourceKind;
  /** Directory holding the tree; builders must treat it as read-only. */
  dir: string;
  /** Content identity, e.g. `module@version h1:…`, a commit, a tarball sha256: the cache key. */
  identity: string;
  /** Human version: a tag such as v1.4.3, or a describe-like string for local trees. */
  version: string;
  /** Full commit hash, when one is known. */
  commit?: string;
  /** True when a local checkout has uncommitted changes. */
  dirty?: boolean;
  /** When the source was committed; the reproducible BuildTime when SOURCE_DATE_EPOCH is unset. */
  commitTime?: Date;
}

/** `go build` of one package into one bundle file. */
export interface GoBinary {
  package: string;
  output: string;
  /** Build tags beyond the recipe's. */
  extraTags?: string[];
}

export interface GoRecipe {
  kind: 'go';
  binaries: GoBinary[];
  cgo: boolean;
  tags: string[];
  /** Plain linker flags (e.g. -w, -extldflags -static). */
  ldflags: string[];
  /** Linker -X stamps, computed from the resolved source. */
  stamp: (source: ResolvedSource, build: StampContext) => Record<string, string>;
  buildmode?: 'pie' | 'exe';
  /** Compiler flags (`-gcflags`), e.g. `all=-N -l` for a build a debugger can step through. */
  gcflags?: string;
  /** Extra environment for the compiler, e.g. CGO_CFLAGS. */
  env?: Record<string, string>;
  /**
   * Files copied inside the tree before building (relative paths, from → to),
   * e.g. docker/cli's vendor.mod → go.mod as its scripts/with-go-mod.sh does.
   * When set, the build runs in a writable copy of the tree.
   */
  inTreeCopies?: Record<string, string>;
}

/** A literal text replacement in a file of the (writable copy of the) source tree. */
export interface TextEdit {
  /** Path relative to the tree's root. */
  file: string;
  /** Exact text that must occur in the file; the build fails when it does not. */
  find: string;
  /** Replaces every occurrence of `find`. */
  replace: string;
}

export interface CMakeRecipe {
  kind: 'cmake';
  /** Arguments to the cmake configure step, besides source and build dirs. */
  configureArgs: (source: ResolvedSource) => string[];
  /** make target to build. */
  target: string;
  /** Built file (relative to the build dir) → bundle file name. */
  outputs: Record<string, string>;
  /**
   * Edits made to the copy of the tree before configuring, e.g. supplying the
   * git id that a CMakeLists would read from a .git a tarball does not have.
   */
  edits?: (source: ResolvedSource) => TextEdit[];
}

export type Recipe = GoRecipe | CMakeRecipe;

/** A file copied verbatim from a source tree into the bundle. */
export interface CopiedFile {
  /** Which tree: 'main' for the component's own source, or a key of `extraSources`. */
  from: string;
  path: string;
  output: string;
  mode: number;
}

export interface ComponentSpec {
  name: string;
  description: string;
  /** Candidate sources for the tree the recipe builds, in order of preference. */
  sources: SourceSpec[];
  /** Other trees the component copies files from, each with its own candidates. */
  extraSources?: Record<string, SourceSpec[]>;
  needs: Requirement[];
  recipe: Recipe;
  copies?: CopiedFile[];
  /** Rough build seconds on two cores; orders the first build, before real timings exist. */
  costHint?: number;
  /** The bundle folder its files go to (published on its own); binary-daemon when unset. */
  bundle?: string;
  /** The target operating systems it builds for (default: Linux only); a cross build leaves the others out. */
  os?: ReadonlyArray<Platform['os']>;
}

export interface StampContext {
  /** RFC 3339 with nanoseconds, as moby's hack/make.sh prints BUILDTIME. */
  buildTime: string;
  /** The same moment, for builds that print it their own way. */
  sourceDate: Date;
}

/** What a component file receives: the environment and the build mode, nothing else. */
export interface ComponentContext {
  env: Env;
  /** moby's `dynbinary`: dynamic, PIE executables instead of static ones. */
  dynamic: boolean;
  /** Whether pkg-config finds a library for the target (journald support for dockerd). */
  hasPkgConfig: (library: string) => boolean;
  /**
   * The machine the binaries are for. When it is not this one, the engine sets
   * Go's GOOS/GOARCH/GOARM and the cross C compiler itself; a component only
   * says what differs by target (runc's PIE, a target library's path).
   */
  platform: Platform;
  /** Whether `platform` is this machine. */
  native: boolean;
}

export type ComponentDefinition = (context: ComponentContext) => ComponentSpec;

/** Every file the component puts in the bundle. */
export function outputsOf(spec: ComponentSpec): string[] {
  return [...builtOutputs(spec.recipe), ...(spec.copies ?? []).map((c) => c.output)];
}

function builtOutputs(recipe: Recipe): string[] {
  switch (recipe.kind) {
    case 'go':
      return recipe.binaries.map((b) => b.output);
    case 'cmake':
      return Object.values(recipe.outputs);
    default:
      return unreachable(recipe);
  }
}
