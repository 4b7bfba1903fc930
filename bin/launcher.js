// @ts-check
/**
 * Runs the project's TypeScript as plain modules that node loads itself.
 *
 * tsx's loader answers node's questions about every module from a thread of
 * its own: 0.14 s to start and about 1 ms a module, 0.3 s of every command
 * before its first line. So each change of the sources is compiled once
 * (esbuild, a file at a time) into a generation folder named by what it was
 * made from, and a command whose sources match the stamp starts from there.
 *
 * A generation is never written after its rename into place, so two commands
 * compiling at once cannot mix their files; the stamp names the newest.
 * Where nothing can be written (a read-only checkout), or a file does not
 * compile, the command runs through tsx's loader as before, which then says
 * what is wrong with the file.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const generationsDir = join(projectRoot, 'node_modules', '.cache', 'moby-make');
const stampFile = join(generationsDir, 'stamp.json');
/** Folders of the checkout that hold no code of the commands: tests run under vitest. */
const NOT_CODE = new Set(['node_modules', 'bundles', 'test', 'docs']);
/** A generation older than this is removed when a newer one is made; a command that ran on it longer loads nothing more by then. */
const GENERATION_LIFETIME_MS = 24 * 3600 * 1000;
/** What the compiled code is launched by: found on globalThis by core/typescript-modules.ts. */
const LAUNCHER_KEY = Symbol.for('moby-make.launcher');

/**
 * @typedef {{ size: number, mtimeMs: number, sha: string }} SourceState
 * @typedef {{ root: string, options: string, generation: string, files: Record<string, SourceState> }} Stamp
 * @typedef {{ dir: string, sources: Set<string> }} Generation
 */

/**
 * Runs `entry` (a `.ts` path, relative to the project or absolute) as the
 * process's main module, with `args` as its arguments.
 * @param {string} entry
 * @param {string[]} args
 */
export async function launch(entry, args) {
  const source = resolve(projectRoot, entry);
  // The task sees the argv it would see run as `node tasks/x.ts args`.
  process.argv = [process.argv[0] ?? process.execPath, source, ...args];
  // Stack traces name the TypeScript lines; node reads the maps only when asked.
  if (args.includes('--verbose')) process.setSourceMapsEnabled(true);
  const generation = await currentGeneration();
  /**
   * @param {string} file
   * @returns {Promise<unknown>}
   */
  const importTypeScript = async (file) => {
    const compiled = generation && compiledPath(generation, file);
    if (compiled) {
      /** @type {unknown} */
      const module = await import(pathToFileURL(compiled).href);
      return module;
    }
    await registerTsx();
    /** @type {unknown} */
    const loaded = await import(pathToFileURL(file).href);
    const module = /** @type {{ default?: { __esModule?: boolean } }} */ (loaded);
    // tsx makes a .ts file outside a package of type module CommonJS; its exports, with their default, are the namespace's default.
    return module.default?.__esModule ? module.default : module;
  };
  Object.defineProperty(globalThis, LAUNCHER_KEY, { value: { importTypeScript } });
  await importTypeScript(source);
}

/**
 * The generation compiled from the sources as they are now, made if there is
 * none; undefined where it cannot be had (tsx's loader runs then).
 * @returns {Promise<Generation | undefined>}
 */
async function currentGeneration() {
  const sources = listSources(projectRoot);
  const dir = await generationDir(sources);
  return dir ? { dir, sources: new Set(sources) } : undefined;
}

/**
 * @param {string[]} sources
 * @returns {Promise<string | undefined>}
 */
async function generationDir(sources) {
  const options = compileOptionsKey();
  const stamp = readStamp();
  if (stamp && stamp.root === projectRoot && stamp.options === options) {
    const states = sourceStates(sources, stamp.files);
    const generation = join(generationsDir, stamp.generation);
    if (sameSources(states, stamp.files) && isDirectory(generation)) {
      if (states.restatted) writeStamp({ ...stamp, files: states.files });
      return generation;
    }
    return compileGeneration(sources, states.files, options, stamp);
  }
  return compileGeneration(sources, sourceStates(sources, {}).files, options, undefined);
}

/**
 * @param {Generation} generation
 * @param {string} file
 */
function compiledPath(generation, file) {
  const rel = relative(projectRoot, file);
  return generation.sources.has(rel) ? join(generation.dir, rel.replace(/\.ts$/, '.js')) : undefined;
}

let tsxRegistered = false;
/** For what is not compiled here: a component declared outside the checkout, or all of it when nothing could be compiled. */
async function registerTsx() {
  if (tsxRegistered) return;
  // What `node --import tsx` loads: the ESM and CommonJS hooks both.
  await import(pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
  tsxRegistered = true;
}

/**
 * Every `.ts` file of the checkout's code, relative to it, sorted. A folder
 * that is a Go module or a git checkout of its own (the guest's init, a moby
 * checkout kept inside this one) holds none, and walking one costs every
 * command.
 * @param {string} root
 * @returns {string[]}
 */
export function listSources(root) {
  /** @type {string[]} */
  const found = [];
  /** @param {string} rel */
  const walk = (rel) => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true });
    if (rel !== '' && entries.some((entry) => entry.name === 'go.mod' || entry.name === '.git')) return;
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = rel ? join(rel, entry.name) : entry.name;
      if (entry.isDirectory() && !(rel === '' && NOT_CODE.has(entry.name)) && entry.name !== 'node_modules') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && rel !== '') found.push(path);
    }
  };
  walk('');
  return found.sort();
}

/**
 * Each source's size, time and content hash; the content is read only where
 * size or time differ from what the stamp recorded (a checkout, a touch).
 * @param {string[]} sources
 * @param {Record<string, SourceState>} recorded
 */
function sourceStates(sources, recorded) {
  /** @type {Record<string, SourceState>} */
  const files = {};
  let restatted = false;
  for (const rel of sources) {
    const { size, mtimeMs } = statSync(join(projectRoot, rel));
    const known = recorded[rel];
    if (known && known.size === size && known.mtimeMs === mtimeMs) {
      files[rel] = known;
      continue;
    }
    files[rel] = { size, mtimeMs, sha: sha256(readFileSync(join(projectRoot, rel))) };
    restatted = true;
  }
  return { files, restatted };
}

/**
 * @param {{ files: Record<string, SourceState> }} states
 * @param {Record<string, SourceState>} recorded
 */
function sameSources(states, recorded) {
  const names = Object.keys(states.files);
  return names.length === Object.keys(recorded).length && names.every((rel) => recorded[rel]?.sha === states.files[rel]?.sha);
}

/**
 * Compiles what changed since `previous` into a new generation, links what
 * did not, and names it in the stamp.
 * @param {string[]} sources
 * @param {Record<string, SourceState>} files
 * @param {string} options
 * @param {Stamp | undefined} previous
 * @returns {Promise<string | undefined>}
 */
async function compileGeneration(sources, files, options, previous) {
  const name = `gen-${sha256(options + sources.map((rel) => `\n${rel} ${files[rel]?.sha}`).join('')).slice(0, 16)}`;
  const target = join(generationsDir, name);
  const building = join(generationsDir, `.${name}-${process.pid}`);
  try {
    if (!isDirectory(target)) {
      mkdirSync(building, { recursive: true });
      writeFileSync(join(building, 'package.json'), '{ "type": "module" }\n');
      const reusable = previous && previous.root === projectRoot && previous.options === options ? previous : undefined;
      const { transform } = await import('esbuild');
      const tsconfigRaw = readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8');
      const compiled = await Promise.allSettled(
        sources.map(async (rel) => {
          const out = join(building, rel.replace(/\.ts$/, '.js'));
          mkdirSync(dirname(out), { recursive: true });
          if (reusable && reusable.files[rel]?.sha === files[rel]?.sha && tryLink(join(generationsDir, reusable.generation), building, rel)) return;
          const file = join(projectRoot, rel);
          const text = readFileSync(file);
          // Edited since it was hashed: this generation would not be what its name says.
          if (sha256(text) !== files[rel]?.sha) throw new Error(`${rel} changed while compiling`);
          const url = pathToFileURL(file).href;
          const result = await transform(text.toString('utf8'), {
            loader: 'ts',
            format: 'esm',
            platform: 'node',
            target: 'node20',
            sourcemap: 'external',
            sourcefile: url,
            tsconfigRaw,
            // import.meta.url keeps naming the source, so paths made from it find the checkout's files.
            define: { 'import.meta.url': JSON.stringify(url) },
          });
          writeFileSync(`${out}.map`, result.map);
          writeFileSync(out, `${result.code}//# sourceMappingURL=${basename(out)}.map\n`);
        }),
      );
      const failed = compiled.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      try {
        renameSync(building, target);
      } catch (error) {
        // Another command made the same generation first: its files are these.
        if (!isDirectory(target)) throw error;
      }
      removeOldGenerations(name);
    }
    writeStamp({ root: projectRoot, options, generation: name, files });
    return target;
  } catch (error) {
    const problem = compileProblem(error);
    // What an edit broke is said once a command, where the author can act on it; an unwritable checkout is not.
    if (problem) process.stderr.write(`moby-make: ${problem}; running through tsx's loader until it compiles\n`);
    return undefined;
  } finally {
    removeQuietly(building);
  }
}

/**
 * esbuild's first message, as `file:line:column: text`, when it refused a file.
 * @param {unknown} error
 */
function compileProblem(error) {
  const failure = /** @type {{ errors?: Array<{ text: string, location: { file: string, line: number, column: number } | null }> }} */ (error);
  const first = Array.isArray(failure?.errors) ? failure.errors[0] : undefined;
  if (!first) return undefined;
  const where = first.location ? `${relative(projectRoot, fileURLToPath(first.location.file))}:${first.location.line}:${first.location.column}: ` : '';
  return `${where}${first.text}`;
}

/**
 * @param {string} from
 * @param {string} to
 * @param {string} rel
 */
function tryLink(from, to, rel) {
  const js = rel.replace(/\.ts$/, '.js');
  try {
    linkSync(join(from, js), join(to, js));
    linkSync(join(from, `${js}.map`), join(to, `${js}.map`));
    return true;
  } catch {
    rmSync(join(to, js), { force: true });
    return false;
  }
}

/** @param {string} keep */
function removeOldGenerations(keep) {
  const now = Date.now();
  for (const entry of readdirSync(generationsDir)) {
    if (entry === keep || !(entry.startsWith('gen-') || entry.startsWith('.gen-'))) continue;
    const path = join(generationsDir, entry);
    if (now - statSync(path).mtimeMs > GENERATION_LIFETIME_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** What else the output depends on: the compiler, and the compiler options of tsconfig.json. */
function compileOptionsKey() {
  const esbuild = /** @type {{ version: string }} */ (readJson(createRequire(import.meta.url).resolve('esbuild/package.json')));
  const launcher = readFileSync(fileURLToPath(import.meta.url));
  return sha256(`${esbuild.version}\n${readFileSync(join(projectRoot, 'tsconfig.json'), 'utf8')}\n${sha256(launcher)}`);
}

/** @returns {Stamp | undefined} */
function readStamp() {
  try {
    const stamp = /** @type {Partial<Stamp> | null} */ (readJson(stampFile));
    const whole =
      typeof stamp?.root === 'string' && typeof stamp.options === 'string' && typeof stamp.generation === 'string' && typeof stamp.files === 'object';
    return whole ? /** @type {Stamp} */ (stamp) : undefined;
  } catch {
    return undefined;
  }
}

/** @param {Stamp} stamp */
function writeStamp(stamp) {
  try {
    const temporary = `${stampFile}.${process.pid}`;
    writeFileSync(temporary, JSON.stringify(stamp));
    renameSync(temporary, stampFile);
  } catch {
    // Not written: the next command checks the contents again.
  }
}

/** @param {string} path */
function removeQuietly(path) {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Under a path that is not a folder: nothing was made there.
  }
}

/** @param {string} path */
function readJson(path) {
  /** @type {unknown} */
  const value = JSON.parse(readFileSync(path, 'utf8'));
  return value;
}

/** @param {string} path */
function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** @param {string | Buffer} data */
function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}
