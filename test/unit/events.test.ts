import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MakeEvent } from '../../builder/make.js';
import { readTimings } from '../../builder/scheduling/timings.js';
import { knownCause } from '../../core/causes.js';
import { formatLines } from '../../core/events.js';
import { run } from '../../core/process.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { readRecord } from '../../devdaemon/state.js';
import { outputMode } from '../../tasks/render/choose.js';
import { devDaemonLines } from '../../tasks/render/dev-daemon-lines.js';
import { jsonLinesRenderer } from '../../tasks/render/json-lines.js';
import { makeLines } from '../../tasks/render/make-lines.js';
import { plainRenderer } from '../../tasks/render/plain.js';
import { tempDir } from '../support/temp.js';

const failed: MakeEvent = {
  type: 'failed',
  component: 'runc',
  error: '`go build` exited with 1',
  cause: 'the disk is full (no space left on device)',
  logFile: '/b/logs/runc.log',
  logTail: ['main.go:3: no space left on device'],
};

describe('renderers', () => {
  it('plain: a failure is a line on stdout and its log tail on stderr', () => {
    const written: Array<[string, string]> = [];
    const renderer = plainRenderer(makeLines(), (line, stream) => written.push([stream, line]));
    renderer.onEvent(failed);
    expect(written[0]).toEqual(['stdout', 'runc: FAILED: `go build` exited with 1 — the disk is full (no space left on device) (log: /b/logs/runc.log)']);
    expect(written.slice(1).every(([stream]) => stream === 'stderr')).toBe(true);
    expect(written.map(([, line]) => line)).toContain('main.go:3: no space left on device');
  });

  it('plain: a bug shows its stack only when verbose', () => {
    const bug: MakeEvent = {
      type: 'failed',
      component: 'runc',
      error: 'x',
      logFile: '/b/logs/runc.log',
      logTail: [],
      bug: 'TypeError: x\n    at f (make.ts:1:1)',
    };
    const quiet = formatLines(makeLines(false), bug).map(String);
    const verbose = formatLines(makeLines(true), bug).map((line) => (typeof line === 'string' ? line : line.stderr));
    expect(JSON.stringify(quiet)).not.toContain('at f (make.ts');
    expect(verbose.join('\n')).toContain('at f (make.ts:1:1)');
    expect(verbose[0]).toMatch(/INTERNAL ERROR \(a bug in moby-make\)/);
  });

  it('json: one parseable object per event, with its type', () => {
    const lines: string[] = [];
    const renderer = jsonLinesRenderer<MakeEvent>((line) => lines.push(line));
    renderer.onEvent({ type: 'plan', components: ['runc', 'daemon'] });
    renderer.onEvent(failed);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ type: 'plan', components: ['runc', 'daemon'] });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ type: 'failed', component: 'runc', cause: failed.cause });
  });

  it('the summary says which components failed, on stderr', () => {
    const lines = formatLines(makeLines(), {
      type: 'finished',
      bundleDirs: ['/b/binary-daemon'],
      built: ['runc'],
      restored: [],
      fetched: [],
      upToDate: [],
      failed: ['daemon'],
    });
    expect(lines).toEqual(['built runc into /b/binary-daemon', { stderr: '\nfailed: daemon; the previous bundle for it is unchanged' }]);
  });

  it('the dev daemon says how to use the bundled docker CLI when there is one', () => {
    const lines = formatLines(devDaemonLines, {
      type: 'ready',
      pid: 42,
      seconds: 0.87,
      dockerHost: 'unix:///s/docker.sock',
      logFile: '/s/dockerd.log',
      detached: false,
      logToTerminal: true,
      clientDir: '/b/binary-client',
    });
    expect(lines).toContain('to use the bundled docker CLI: export PATH=/b/binary-client:$PATH DOCKER_HOST=unix:///s/docker.sock');
  });

  it('the dev daemon says where it listens and how to stop it', () => {
    const lines = formatLines(devDaemonLines, {
      type: 'ready',
      pid: 42,
      seconds: 0.87,
      dockerHost: 'unix:///s/docker.sock',
      logFile: '/s/dockerd.log',
      detached: true,
      logToTerminal: true,
    });
    expect(lines).toEqual([
      "dockerd (pid 42) is ready in 0.87 s, running the bundle's runc, containerd and docker-init",
      'DOCKER_HOST=unix:///s/docker.sock',
      'running in the background; log: /s/dockerd.log; stop it with: npm run dev-daemon -- stop',
    ]);
  });

  it('chooses rows on a terminal, lines in CI, and refuses an unknown mode', () => {
    expect(outputMode(undefined, {}, true)).toBe('tty');
    expect(outputMode(undefined, { CI: 'true' }, true)).toBe('plain');
    expect(outputMode(undefined, {}, false)).toBe('plain');
    expect(outputMode('json', {}, true)).toBe('json');
    expect(() => outputMode('xml', {})).toThrow(/--output xml is not an output mode/);
  });
});

describe('process endings and their causes', () => {
  it('reports a process killed by a signal as that signal', async () => {
    const result = await run(['sh', '-c', 'kill -KILL $$']);
    expect(result).toMatchObject({ signal: 'SIGKILL', exitCode: 137 });
    const exited = await run(['sh', '-c', 'exit 3']);
    expect(exited.exitCode).toBe(3);
    expect(exited.signal).toBeUndefined();
  });

  it('recognises well-known causes in output, and SIGKILL without one', () => {
    expect(knownCause('write /x: no space left on device')).toMatch(/disk is full/);
    expect(knownCause('fork/exec: cannot allocate memory')).toMatch(/out of memory/);
    expect(knownCause('dial tcp 10.0.0.1:443: i/o timeout')).toMatch(/network or proxy is unreachable/);
    expect(knownCause('main.go:3: syntax error')).toBeUndefined();
    expect(knownCause('main.go:3: syntax error', 'SIGKILL')).toMatch(/out-of-memory killer/);
  });
});

describe('JSON state read back from disk is validated, not cast', () => {
  it('treats damaged timings as none known', () => {
    const dir = tempDir('timings');
    writeFileSync(join(dir, 'timings.json'), '{"runc": "fast"}');
    expect(readTimings(dir)).toEqual({});
    writeFileSync(join(dir, 'timings.json'), '{"runc": 27.5}');
    expect(readTimings(dir)).toEqual({ runc: 27.5 });
  });

  it('treats a damaged dev-daemon record as no record', () => {
    const layout = stateLayout(tempDir('record'));
    writeFileSync(layout.metaFile, '{"pid": "1234"}');
    expect(readRecord(layout)).toBeUndefined();
    writeFileSync(layout.metaFile, 'not json');
    expect(readRecord(layout)).toBeUndefined();
  });
});
