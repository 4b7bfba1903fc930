import { UserError, describeError, joinLines } from '../../core/errors.js';
import { SOURCE_KINDS, type ResolvedSource, type SourceKind, type SourceSpec } from '../model.js';
import { predictDebianSource, resolveDebianSource } from './debian-source.js';
import { resolveGit } from './git.js';
import { resolveModule } from './module.js';
import { resolvePath } from './path.js';
import type { ChosenSource } from './record.js';
import { describeSource, type ResolveContext, type Resolver } from './resolver.js';
import type { Env } from '../../core/env.js';

/** One resolver for every kind: a kind without one is a compile error, not a run-time surprise. */
type ResolverTable = { [K in SourceKind]: Resolver<Extract<SourceSpec, { kind: K }>> };

const resolvers: ResolverTable = {
  module: resolveModule,
  path: resolvePath,
  git: resolveGit,
  'debian-source': resolveDebianSource,
};

/**
 * The kinds whose resolution the spec alone determines, without fetching:
 * a pinned tarball's tree. A git commit is not among them (its commit time
 * stamps the build), nor a module (its go.sum line comes with the download).
 */
type PredictorTable = {
  [K in SourceKind]: ((spec: Extract<SourceSpec, { kind: K }>, context: Pick<ResolveContext, 'cacheDir'>) => ResolvedSource) | undefined;
};

const predictors: PredictorTable = {
  module: undefined,
  path: undefined,
  git: undefined,
  'debian-source': predictDebianSource,
};

/**
 * The first candidate whose resolution is known from its pins, as it would
 * resolve, its tree not fetched (`dir` may not exist yet); undefined when no
 * candidate's is. Candidates are the same pinned release from different
 * places, so this one's build is as good as the first candidate's.
 */
export function predictFirst(candidates: readonly SourceSpec[], context: Pick<ResolveContext, 'cacheDir'>): ChosenSource | undefined {
  for (const candidate of candidates) {
    const predict = predictors[candidate.kind] as ((spec: SourceSpec, context: Pick<ResolveContext, 'cacheDir'>) => ResolvedSource) | undefined;
    if (predict) return { ...predict(candidate, context), spec: candidate };
  }
  return undefined;
}

export function resolveOne(spec: SourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  const resolver = resolvers[spec.kind] as Resolver<SourceSpec>;
  return resolver(spec, context);
}

function resolveOnce(spec: SourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  if (!context.resolved) return resolveOne(spec, context);
  const key = JSON.stringify(spec);
  let resolution = context.resolved.get(key);
  if (!resolution) {
    resolution = resolveOne(spec, context);
    context.resolved.set(key, resolution);
  }
  return resolution;
}

/**
 * Keeps only the candidates of a kind forced from the environment
 * (e.g. INIT_SOURCE=debian-source); an unknown kind is an error.
 */
export function selectCandidates(owner: string, candidates: SourceSpec[], env: Env): SourceSpec[] {
  const variable = `${owner.toUpperCase().replace(/-/g, '_')}_SOURCE`;
  const forcedKind = env[variable];
  if (!forcedKind) return candidates;
  if (!SOURCE_KINDS.includes(forcedKind as SourceKind)) {
    throw new UserError(`${variable}=${forcedKind} is not a source kind`, `Valid kinds: ${SOURCE_KINDS.join(', ')}.`);
  }
  const kept = candidates.filter((c) => c.kind === forcedKind);
  if (kept.length === 0) {
    const offered = [...new Set(candidates.map((c) => c.kind))].join(', ');
    throw new UserError(`${variable}=${forcedKind}: ${owner} has no ${forcedKind} source`, `It offers: ${offered}.`);
  }
  return kept;
}

/** The first candidate that yields a verified tree wins; every failed attempt is logged and reported. */
export async function resolveFirst(owner: string, candidates: SourceSpec[], context: ResolveContext): Promise<ChosenSource> {
  const failures: string[] = [];
  for (const candidate of candidates) {
    context.signal.throwIfAborted();
    context.log.write(`==> ${owner}: trying ${describeSource(candidate)}\n`);
    try {
      const resolved = await resolveOnce(candidate, context);
      context.log.write(`==> ${owner}: using ${describeSource(candidate)} = ${resolved.identity}\n`);
      return { ...resolved, spec: candidate };
    } catch (error) {
      if (context.signal.aborted) throw error;
      const reason = describeError(error).split('\n')[0] ?? 'failed';
      context.log.write(`==> ${owner}: ${describeSource(candidate)} failed: ${reason}\n`);
      failures.push(`${describeSource(candidate)}: ${reason}`);
    }
  }
  if (failures.length === 1) throw new UserError(`${owner}: ${failures[0]}`);
  throw new UserError(`${owner}: no source could be used; tried:\n${joinLines(failures)}`);
}
