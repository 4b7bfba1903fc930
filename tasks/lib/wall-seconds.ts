import { spawnSync } from 'node:child_process';

/** A command's wall time, its output left out; a failure stops the bench with the command's start and its exit. */
export function wallSeconds(argv: string[], env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(argv[0] ?? '', argv.slice(1), { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} … failed (${result.status ?? result.signal})`);
  return (performance.now() - started) / 1000;
}
