import { nextSteps } from './cli/commands.js';
import { parseArgs } from 'node:util';
import { cacheConfig, REGISTRY_VARIABLE } from '../cache/config.js';
import {
  distinctBytes,
  entriesToPrune,
  forgetUses,
  listEntries,
  listGoCacheMaps,
  openInventoryClient,
  parseAge,
  pruneGoCacheMaps,
  removeEntry,
  summarize,
  type InventoryEvent,
} from '../cache/inventory.js';
import { UsageError } from '../core/errors.js';
import { runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { cacheLines } from './render/cache-lines.js';

const HELP = `Usage: npm run cache -- status|ls|prune [options]

The shared cache on an OCI registry (MOBY_MAKE_CACHE_REGISTRY, see npm run
make -- --help): what it holds for this project.

  status                 the registry, entries and sizes per component, and
                         each component's Go build cache (actions, objects,
                         size, last used)
  ls                     every entry: component, fingerprint, size, pushed,
                         the day a pushing runner last used it, signed; then
                         the Go build caches as status shows them
  prune --older-than AGE remove entries pushed longer ago than AGE (30d, 12h,
                         90m) that no pushing runner used within AGE,
                         keeping each component's newest, and drop from
                         each Go cache map the actions no build used within
                         AGE, rewriting the packs left mostly unused; the
                         registry frees their blobs at its next garbage
                         collection

Options:
  --cache-registry host[:port]/repo   instead of $MOBY_MAKE_CACHE_REGISTRY
  --output MODE                       plain or json
  --help                              this text`;

const VERBS = ['status', 'ls', 'prune'] as const;
type Verb = (typeof VERBS)[number];

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      'cache-registry': { type: 'string' },
      'older-than': { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP + nextSteps('cache'));
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (!verb || !(VERBS as readonly string[]).includes(verb) || rest.length > 0) {
    throw new UsageError(`npm run cache needs one of ${VERBS.join(', ')}`, 'See npm run cache -- --help.');
  }
  if (verb === 'prune' && !values['older-than']) throw new UsageError('prune needs --older-than AGE (for example 30d)');
  const env = process.env;
  const config = cacheConfig(env, values['cache-registry']);
  if (!config) throw new UsageError(`no cache registry: set ${REGISTRY_VARIABLE} or pass --cache-registry host[:port]/repo`);
  const renderer = createRenderer<InventoryEvent>(outputMode(values.output ?? 'plain', env), { lines: cacheLines });
  const client = await openInventoryClient(config, env);
  renderer.onEvent({ type: 'registry', name: client.name, pushing: config.push });
  const { entries, blobs, tags } = await listEntries(client);
  switch (verb as Verb) {
    case 'status':
    case 'ls': {
      if (verb === 'ls') for (const entry of entries) renderer.onEvent({ type: 'entry', entry });
      const goCache = await listGoCacheMaps(client, tags);
      for (const map of goCache.maps) renderer.onEvent({ type: 'gocache', map });
      renderer.onEvent(summarize(entries, distinctBytes(blobs, goCache.blobs)));
      break;
    }
    case 'prune': {
      const cutoff = new Date(Date.now() - parseAge(values['older-than'] as string));
      const doomed = entriesToPrune(entries, cutoff);
      for (const entry of doomed) {
        await removeEntry(client, entry);
        renderer.onEvent({ type: 'pruned', entry });
      }
      await forgetUses(client, doomed);
      for (const event of await pruneGoCacheMaps(client, cutoff)) renderer.onEvent(event);
      const bytes = doomed.reduce((sum, entry) => sum + entry.bytes, 0);
      renderer.onEvent({ type: 'prune-finished', removed: doomed.length, kept: entries.length - doomed.length, bytes, cutoff });
      break;
    }
  }
  await renderer.finished();
  return 0;
}

await runMain(main);
