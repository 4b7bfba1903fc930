import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from './docker-archive.js';
import { step } from './host.js';
import { Layout } from './layout.js';
import { layoutImage, RECIPE_VERSION, type Recipe, type RecipeContext } from './recipe.js';

/**
 * hello-world's message, with the architecture line the official binaries
 * print. moby's tests assert only "Hello from Docker" (TestBuildRUNoneJSON)
 * and that /hello exists (image mounts); the rest is for people.
 */
export function helloMessage(arch: string): string {
  return [
    '',
    'Hello from Docker!',
    'This message shows that your installation appears to be working correctly.',
    '',
    'To generate this message, Docker took the following steps:',
    ' 1. The Docker client contacted the Docker daemon.',
    ' 2. The Docker daemon pulled the "hello-world" image from the Docker Hub.',
    `    (${arch})`,
    ' 3. The Docker daemon created a new container from that image which runs the',
    '    executable that produces the output you are currently reading.',
    ' 4. The Docker daemon streamed that output to the Docker client, which sent it',
    '    to your terminal.',
    '',
    'To try something more ambitious, you can run an Ubuntu container with:',
    ' $ docker run -it ubuntu bash',
    '',
    'Share images, automate workflows, and more with a free Docker ID:',
    ' https://hub.docker.com/',
    '',
    'For more examples and ideas, visit:',
    ' https://docs.docker.com/get-started/',
    '',
    '',
  ].join('\n');
}

/** A static program with no libc: one write(2) and exit, like the official hello.c's _start. */
export function helloSource(arch: string): string {
  return `package main

import "syscall"

const message = ${JSON.stringify(helloMessage(arch))}

func main() {
\tsyscall.Write(1, []byte(message))
}
`;
}

export interface HelloTarget {
  id: string;
  tags: readonly string[];
  /** GOARCH and GOARM for the compiler. */
  goarch: string;
  goarm?: string;
  platform: Platform;
  /** The label the official image prints: amd64, arm64v8, arm32v7. */
  label: string;
}

/**
 * hello-world:frozen (moby's re-tag of hello-world:latest) and :amd64 share
 * the native amd64 binary; :arm64 and arm32v7/hello-world get real arm64 and
 * armv7 binaries from Go's cross-compiler, so every image is what its config
 * says it is, whether or not a test ever runs it.
 */
export const HELLO_TARGETS: readonly HelloTarget[] = [
  { id: 'hello-world-amd64', tags: ['hello-world:frozen', 'hello-world:amd64'], goarch: 'amd64', platform: { architecture: 'amd64' }, label: 'amd64' },
  { id: 'hello-world-arm64', tags: ['hello-world:arm64'], goarch: 'arm64', platform: { architecture: 'arm64', variant: 'v8' }, label: 'arm64v8' },
  {
    id: 'hello-world-arm32v7',
    tags: ['arm32v7/hello-world:latest'],
    goarch: 'arm',
    goarm: '7',
    platform: { architecture: 'arm', variant: 'v7' },
    label: 'arm32v7',
  },
];

const GO_FLAGS = ['-trimpath', '-buildvcs=false', '-ldflags=-s -w -buildid='];
/** hello-world's own release date stands in for a clock that would change the image ID. */
const CREATED = '2023-05-04T17:37:03Z';

function goEnv(context: RecipeContext, target: HelloTarget): Record<string, string | undefined> {
  return { ...context.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: target.goarch, GOARM: target.goarm, GOFLAGS: '', GOTOOLCHAIN: 'local', GO111MODULE: 'on' };
}

export function helloRecipe(target: HelloTarget): Recipe {
  return {
    id: target.id,
    tags: target.tags,
    how: `Go ${target.goarch}${target.goarm ? `v${target.goarm}` : ''} static binary /hello`,
    async inputs(context) {
      const version = await step(context, ['go', 'env', 'GOVERSION'], { env: goEnv(context, target) });
      return { recipe: RECIPE_VERSION, revision: 1, source: helloSource(target.label), go: version.stdout.trim(), flags: GO_FLAGS, target };
    },
    async make(context) {
      const source = join(context.workDir, 'hello.go');
      const binary = join(context.workDir, 'hello');
      await writeFile(source, helloSource(target.label));
      await step(context, ['go', 'build', ...GO_FLAGS, '-o', binary, source], { cwd: context.workDir, env: goEnv(context, target) });
      const layout = new Layout().file('hello', await readFile(binary), 0o755);
      return layoutImage(layout, context.workDir, {
        tags: target.tags,
        cmd: ['/hello'],
        created: CREATED,
        createdBy: `moby-make: hello-world (${target.label}) built with Go`,
        platform: target.platform,
      });
    },
  };
}
