import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../support/temp.js';
import { devDaemon, uniqueName } from './support/containers.js';
import { fetchWhenUp } from './support/http.js';
import { IMAGE } from './support/image.js';
import { freePort } from '../../core/free-port.js';
import { dockerHost, freeSubnet, live, MOBICLI_BIN, mobicli, onTerminal, type Live } from './support/mobicli.js';

const MIB = 1024 * 1024;
const escape = (text: string) => text.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&');

/** Everything a case creates is removed after it, whether it passed or not. */
const created = { containers: [] as string[], networks: [] as string[], images: [] as string[], processes: [] as Live[] };
const container = (prefix: string) => {
  const name = uniqueName(prefix);
  created.containers.push(name);
  return name;
};
afterEach(async () => {
  const docker = devDaemon();
  for (const process of created.processes.splice(0)) process.child.kill('SIGKILL');
  const ignoreMissing = (error: unknown) => {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  };
  for (const name of created.containers.splice(0)) await docker.getContainer(name).remove({ force: true }).catch(ignoreMissing);
  for (const name of created.networks.splice(0)) await docker.getNetwork(name).remove().catch(ignoreMissing);
  for (const name of created.images.splice(0)) await docker.getImage(name).remove({ force: true }).catch(ignoreMissing);
});

describe('mobicli against the dev daemon', () => {
  it('runs a named container detached: ps lists it, logs stream, exec runs in it, stop and rm remove it', async () => {
    const name = container('bird');
    // A shell that exits on SIGTERM: `sleep` as PID 1 would ignore it and make stop wait.
    const script = 'trap "exit 0" TERM; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2 & wait; done';
    const started = await mobicli(['run', '-d', '--name', name, IMAGE, 'sh', '-c', script]);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const id = started.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    // Independent invocations run side by side: each one is a Node start.
    const follow = live(MOBICLI_BIN, ['logs', '-f', name]);
    created.processes.push(follow);
    const ps = await mobicli(['ps']);
    expect(ps.code).toBe(0);
    expect(ps.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(ps.stdout).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+${escape(IMAGE)}\\s+"sh -c 'trap \\"exit 0…"\\s+.+ ago\\s+Up .*\\s${name}$`, 'm'));
    await follow.waitFor(/tick-3\n/); // lines arrive while the container runs

    const [logs, exec, execStdin] = await Promise.all([
      mobicli(['logs', name]),
      mobicli(['exec', name, 'sh', '-c', 'echo in-$HOSTNAME; echo to-stderr >&2; exit 4']),
      mobicli(['exec', '-i', name, 'cat'], { input: 'piped-into-exec\n' }),
    ]);
    expect(logs.stdout).toMatch(/^tick-1\ntick-2\ntick-3\n/);
    expect(exec).toEqual({ code: 4, stdout: `in-${id.slice(0, 12)}\n`, stderr: 'to-stderr\n' });
    expect(execStdin).toMatchObject({ code: 0, stdout: 'piped-into-exec\n' });

    expect(await mobicli(['stop', '-t', '5', name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    expect(await follow.exited).toBe(0); // logs -f ends with the container
    const [running, all] = await Promise.all([mobicli(['ps']), mobicli(['ps', '-a'])]);
    expect(running.stdout).not.toContain(name);
    expect(all.stdout).toMatch(new RegExp(`Exited \\(0\\) .*\\s${name}$`, 'm'));

    expect(await mobicli(['rm', name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    const [after, again] = await Promise.all([mobicli(['ps', '-a']), mobicli(['rm', name])]);
    expect(after.stdout).not.toContain(name);
    expect(again).toEqual({ code: 1, stdout: '', stderr: `error: no container named ${name} on the daemon at ${dockerHost()}\n` });
  });

  it('runs in the foreground: output streams to stdout and stderr, stdin with -i, and the exit code is the container’s', async () => {
    const name = container('fg');
    expect(
      await mobicli(['run', '--name', name, '-e', 'GREETING=hello', '-e', 'FROM_HERE', IMAGE, 'sh', '-c', 'echo $GREETING $FROM_HERE; echo oops >&2; exit 3'], {
        env: { DOCKER_HOST: dockerHost(), FROM_HERE: 'passed-on' },
      }),
    ).toEqual({
      code: 3,
      stdout: 'hello passed-on\n',
      stderr: 'oops\n',
    });
    expect((await devDaemon().getContainer(name).inspect()).State.ExitCode).toBe(3); // no --rm: kept

    const removed = container('rm');
    expect(await mobicli(['run', '-i', '--rm', '--name', removed, IMAGE, 'tr', 'a-z', 'A-Z'], { input: 'shout\n' })).toEqual({
      code: 0,
      stdout: 'SHOUT\n',
      stderr: '',
    });
    await expect(devDaemon().getContainer(removed).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('shares a host folder with -v, read-write and :ro', async () => {
    const dir = tempDir('mobicli-v');
    writeFileSync(join(dir, 'from-host'), 'written-on-the-host\n');
    const both = await mobicli([
      'run',
      '--rm',
      '-v',
      `${dir}:/shared`,
      IMAGE,
      'sh',
      '-c',
      'cat /shared/from-host && echo written-in-container > /shared/from-container',
    ]);
    expect(both).toMatchObject({ code: 0, stdout: 'written-on-the-host\n' });
    expect(readFileSync(join(dir, 'from-container'), 'utf8')).toBe('written-in-container\n');

    const readOnly = await mobicli(['run', '--rm', '-v', `${dir}:/shared:ro`, IMAGE, 'sh', '-c', 'echo no > /shared/refused']);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });

  it('kills a process above -m 16m (exit 137, OOMKilled) and gives --cpu-shares 256 to the cgroup', async () => {
    const name = container('oom');
    // busybox tail keeps /dev/zero's endless "line" in memory until the cgroup limit stops it.
    const oom = await mobicli(['run', '--name', name, '-m', '16m', IMAGE, 'tail', '/dev/zero']);
    expect(oom.code).toBe(137);
    const inspect = await devDaemon().getContainer(name).inspect();
    expect(inspect.HostConfig.Memory).toBe(16 * MIB);
    expect(inspect.State.OOMKilled).toBe(true);

    // cgroup v1 shows the shares; v2 maps them to cpu.weight as runc does: 1 + (256 - 2) * 9999 / 262142.
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const file = v2 ? '/sys/fs/cgroup/cpu.weight' : '/sys/fs/cgroup/cpu/cpu.shares';
    const shares = await mobicli(['run', '--rm', '--cpu-shares', '256', IMAGE, 'cat', file]);
    expect(shares).toEqual({ code: 0, stdout: v2 ? '10\n' : '256\n', stderr: '' });
  });

  it('creates a network with a subnet whose containers get addresses in it and reach each other by name', async () => {
    const net = uniqueName('net');
    const { subnet, prefix } = freeSubnet();
    created.networks.push(net);
    // The seed's form: a host address, which becomes the gateway.
    const made = await mobicli(['network', 'create', '--driver', 'bridge', '--subnet', `${prefix}1/24`, net]);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    expect((await mobicli(['network', 'ls'])).stdout).toMatch(new RegExp(`^${made.stdout.slice(0, 12)}\\s+${net}\\s+bridge\\s+local$`, 'm'));
    const ipam = (await devDaemon().getNetwork(net).inspect()) as { IPAM: { Config: Array<{ Subnet: string; Gateway: string }> } };
    expect(ipam.IPAM.Config[0]).toMatchObject({ Subnet: subnet, Gateway: `${prefix}1` });

    const server = container('server');
    expect((await mobicli(['run', '-d', '--name', server, '--net', net, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www'])).code).toBe(0);
    const wget = `hostname -i; for i in $(seq 100); do wget -q -O - http://${server}/ && exit 0; sleep 0.1; done; exit 1`;
    const client = await mobicli(['run', '--rm', '--net', net, IMAGE, 'sh', '-c', wget]);
    expect(client.code).toBe(0);
    const [clientAddress, page] = client.stdout.split('\n');
    expect(clientAddress?.startsWith(prefix)).toBe(true);
    expect(page).toBe('served-from-busybox-httpd');
    expect((await mobicli(['exec', server, 'hostname', '-i'])).stdout).toMatch(new RegExp(`^${escape(prefix)}\\d+\\n$`));

    expect((await mobicli(['rm', '-f', server])).code).toBe(0);
    expect(await mobicli(['network', 'rm', net])).toEqual({ code: 0, stdout: `${net}\n`, stderr: '' });
    expect((await mobicli(['network', 'ls'])).stdout).not.toContain(net);
  });

  it('publishes a port on 127.0.0.1 with -p', async () => {
    const name = container('web');
    const port = await freePort();
    expect((await mobicli(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, IMAGE, 'httpd', '-f', '-p', '80', '-h', '/www'])).code).toBe(0);
    const response = await fetchWhenUp(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('served-from-busybox-httpd\n');
    expect((await mobicli(['ps'])).stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp\\s+${name}$`, 'm'));
  });

  it('commits a container into an image that runs with the change', async () => {
    const name = container('commit');
    const image = `moby-make/${uniqueName('committed')}:v1`;
    created.images.push(image);
    expect((await mobicli(['run', '--name', name, IMAGE, 'sh', '-c', 'echo committed-change > /marker'])).code).toBe(0);
    const committed = await mobicli(['commit', name, image]);
    expect(committed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sha256:[0-9a-f]{64}\n$/) });
    const [repo, tag] = image.split(':') as [string, string];
    expect((await mobicli(['images'])).stdout).toMatch(new RegExp(`^${escape(repo)}\\s+${tag}\\s+${committed.stdout.slice(7, 19)}\\s`, 'm'));
    expect(await mobicli(['run', '--rm', image, 'cat', '/marker'])).toEqual({ code: 0, stdout: 'committed-change\n', stderr: '' });
  });

  it('runs -it as an interactive session on a terminal: typed commands, resizes, Ctrl-C, and the exit code', async () => {
    const name = container('tty');
    const session = onTerminal(['run', '-it', '--rm', '--name', name, IMAGE, 'sh']);
    created.processes.push(session);
    await session.waitFor(/\/ # /);
    session.write('echo typed-$((6*7))\r');
    await session.waitFor(/typed-42\r\n/);

    session.write('stty size\r'); // the terminal's size reached the container's at start
    await session.waitFor(/33 77\r\n/);
    const pty = /PTY=(\/dev\/pts\/\d+)/.exec(session.output())![1]!;
    expect(await live('stty', ['-F', pty, 'rows', '40', 'cols', '100']).exited).toBe(0);
    // The SIGWINCH travels to mobicli and on to the daemon; ask until it has arrived.
    for (let i = 0; i < 50 && !/40 100\r\n/.test(session.output()); i += 1) {
      session.write('stty size\r');
      await sleep(100);
    }
    expect(session.output()).toMatch(/40 100\r\n/);

    // Ctrl-C reaches the container's terminal, which interrupts its foreground sleep, not mobicli.
    session.write('sleep 30\r');
    await waitForProcess(name, (processes) => processes.includes('sleep 30'));
    session.write('\x03');
    await waitForProcess(name, (processes) => !processes.includes('sleep 30'));
    session.write('echo still-$((40+2))\r');
    await session.waitFor(/still-42\r\n/);

    session.write('exit 3\r');
    expect(await session.exited).toBe(3);
    await expect(devDaemon().getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const eof = onTerminal(['run', '-it', '--rm', '--name', container('eof'), IMAGE, 'sh']);
    created.processes.push(eof);
    await eof.waitFor(/\/ # /);
    eof.write('\x04'); // Ctrl-D at the prompt ends the shell
    expect(await eof.exited).toBe(0);
  });

  it('prints --help in the seed style and refuses bad input in one line: 2 for usage, 1 for the daemon', async () => {
    // Independent invocations run side by side: each is a Node start.
    const [help, root, networkHelp, createHelp] = await Promise.all([
      mobicli(['run', '--help']),
      mobicli(['--help']),
      mobicli(['network', '--help']),
      mobicli(['help', 'network', 'create']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /^Create and run a new container from an image\n\nUsage:\n {2}mobicli run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]\n\nFlags:\n/,
    );
    expect(help.stdout).toMatch(/^ {2}-m, --memory bytes +Memory limit/m);
    expect(root.stdout).toMatch(/\nAvailable Commands:\n {2}run +Create and run/);
    expect(networkHelp.stdout).toMatch(
      /Usage:\n {2}mobicli network COMMAND\n\nAvailable Commands:\n {2}create +Create a network\n {2}ls +List networks\n {2}rm +Remove/,
    );

    expect(createHelp).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Create a network\n\nUsage:\n {2}mobicli network create \[OPTIONS\] NETWORK\n\nFlags:\n {2}-d, --driver string/),
    });

    const before = (await devDaemon().listContainers({ all: true })).length;
    const usage: Array<[string[], RegExp]> = [
      [['run', '--bogus', IMAGE], /^error: unknown flag --bogus for mobicli run; see mobicli run --help\n$/],
      [
        ['run', '-m', '100x', IMAGE],
        /^error: invalid value "100x" for -m, --memory: not a size; use a number with an optional unit b, k, m or g \(e\.g\. 100m, 1g\)\n$/,
      ],
      [['run', '-p', '99999:80', IMAGE], /^error: invalid value "99999:80" for -p, --publish: port 99999 is not in 1-65535; use \[IP:\]HOST:CONTAINER/],
      [['run'], /^error: mobicli run takes at least 1 argument: mobicli run \[OPTIONS\] IMAGE/],
      [['frob'], /^error: unknown command frob for mobicli; it knows run, start, ps/],
    ];
    const results = await Promise.all(usage.map(([args]) => mobicli(args)));
    for (const [index, [args, message]] of usage.entries()) {
      const result = results[index]!;
      expect(result, args.join(' ')).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(message) });
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect((await devDaemon().listContainers({ all: true })).length).toBe(before); // refused before creating anything

    expect(await mobicli(['stop', 'mmk-no-such-container'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: no container named mmk-no-such-container on the daemon at ${dockerHost()}\n`,
    });
    const image = await mobicli(['run', '--rm', 'moby-make/absent:none']);
    expect(image).toMatchObject({
      code: 1,
      stderr: `error: no image moby-make/absent:none on the daemon at ${dockerHost()}; mobicli does not pull: import or build it first\n`,
    });
    const socket = join(tempDir('down'), 'docker.sock');
    expect(await mobicli(['ps'], { env: { DOCKER_HOST: `unix://${socket}` } })).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot reach a Docker daemon at unix://${socket} (ENOENT); start one with: npm run dev-daemon -- --detach\n`,
    });
  });

  it('keeps start as run -d, and finds the dev daemon socket when DOCKER_HOST is unset', async () => {
    const name = container('start');
    const env = { DOCKER_HOST: undefined, MOBY_DEV_DAEMON_STATE: inject('devDaemonState') };
    const started = await mobicli(['start', '--name', name, IMAGE, 'sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait'], { env });
    expect(started).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    expect((await devDaemon().getContainer(name).inspect()).State.Running).toBe(true);
    expect((await mobicli(['ps'], { env })).stdout).toContain(name);
  });
});

/** Polls the container's process list (docker top) until it passes the check. */
async function waitForProcess(name: string, check: (commandLines: string[]) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const top = (await devDaemon().getContainer(name).top()) as { Processes: string[][] };
    if (check(top.Processes.map((row) => row.at(-1) ?? ''))) return;
    await sleep(50);
  }
  throw new Error(`the processes in ${name} never passed ${check.toString()}`);
}
