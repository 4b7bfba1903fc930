import type { LineFormats } from '../../core/events.js';
import type { CacheEntry, InventoryEvent } from '../../cache/inventory.js';

const MB = 1024 * 1024;

export const cacheLines: LineFormats<InventoryEvent> = {
  registry: (event) => `cache registry ${event.name} (${event.pushing ? 'pushing: MOBY_MAKE_CACHE_PUSH is set' : 'read-only here'})`,
  entry: (event) => entryLine(event.entry),
  summary: (event) => [
    ...Object.entries(event.components)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([component, row]) => `${component}: ${row.entries} ${row.entries === 1 ? 'entry' : 'entries'}, ${megabytes(row.bytes)}`),
    `${event.entries} entries, ${megabytes(event.bytes)} as listed, ${megabytes(event.uniqueBytes)} of distinct blobs in the registry`,
  ],
  pruned: (event) => `removed ${entryLine(event.entry)}`,
  'gocache-pruned': (event) =>
    `${event.tag}: dropped ${event.removed} actions no build used within the age, kept ${event.kept}${event.repacked > 0 ? `, repacked ${event.repacked} packs mostly dropped` : ''} (${megabytes(event.bytes)} of objects released)`,
  gocache: ({ map }) =>
    `go cache of ${map.component}: ${map.actions} actions, ${map.objects} objects in ${map.packs} packs${map.objects > 0 && map.packs === 0 ? ' (each its own blob)' : ''}, ${megabytes(map.bytes)}, last used ${map.lastUsed ? map.lastUsed.toISOString().slice(0, 10) : 'unknown'}  ${map.tag}`,
  'prune-finished': (event) =>
    `pruned ${event.removed} entries pushed before ${event.cutoff.toISOString()} (${megabytes(event.bytes)} as listed), kept ${event.kept}; the registry frees unreferenced blobs at its next garbage collection`,
};

function entryLine(entry: CacheEntry): string {
  const pushed = entry.created ? entry.created.toISOString().replace(/\.\d+Z$/, 'Z') : 'unknown';
  const used = entry.used ? `  used ${entry.used.toISOString().slice(0, 10)}` : '';
  return `${entry.component}  ${entry.fingerprint.slice(0, 12)}  ${megabytes(entry.bytes)}  pushed ${pushed}${used}  ${entry.signed ? 'signed' : 'unsigned'}  ${entry.digest}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}
