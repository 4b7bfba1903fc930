import type { RegistryClient } from './registry.js';

/**
 * The process go starts as GOCACHEPROG (make sets it for go builds when a
 * cache registry is configured). Its stderr is the build's log, so what it
 * reports lands beside the compiler's output.
 *
 * go waits for the program's first line, the commands it answers (those
 * GoCacheProgram.serve speaks), before its build goes on; it goes out
 * before the program's modules load, a tenth of a second of every go build.
 */
process.stdout.write(`${JSON.stringify({ ID: 0, KnownCommands: ['get', 'put', 'close'] })}\n`);

const [{ cacheConfig }, { registryClient }, { GOCACHE_DIR_VARIABLE, GOCACHE_TAG_VARIABLE, GoCacheProgram }, { describeError }] = await Promise.all([
  import('./config.js'),
  import('./credentials.js'),
  import('./go-cache-program.js'),
  import('../core/errors.js'),
]);

const env = process.env;
const gocache = env[GOCACHE_DIR_VARIABLE];
const tag = env[GOCACHE_TAG_VARIABLE];
if (!gocache || !tag) {
  process.stderr.write(`moby-make go cache: ${GOCACHE_DIR_VARIABLE} and ${GOCACHE_TAG_VARIABLE} must be set (npm run make sets them)\n`);
  process.exit(2);
}
const report = (line: string) => void process.stderr.write(`${line}\n`);
let client: RegistryClient | undefined;
let push = false;
try {
  const config = cacheConfig(env);
  if (config) {
    client = await registryClient(config, env);
    push = config.push;
  }
} catch (error) {
  report(`moby-make go cache: no shared cache (${describeError(error)}); serving GOCACHE alone`);
}
await new GoCacheProgram({ gocache, tag, push, report, ...(client ? { client } : {}) }).serve(process.stdin, process.stdout);
