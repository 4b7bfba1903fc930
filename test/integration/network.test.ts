import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { stateLayout } from '../../devdaemon/layout.js';
import { allPids, argvOf, exeOf } from '../../core/procfs.js';
import { readRecord } from '../../devdaemon/state.js';
import { devDaemon, runToCompletion, startDetached, uniqueName } from './support/containers.js';
import { fetchWhenUp } from './support/http.js';

/** Command lines of the docker-proxy processes running from the bundle. */
function bundledProxies(): string[] {
  const proxy = realpathSync(join(inject('bundlesDir'), 'binary-daemon', 'docker-proxy'));
  return allPids()
    .filter((pid) => exeOf(pid) === proxy)
    .map((pid) => argvOf(pid).join(' '));
}

const HTTPD = ['httpd', '-f', '-p', '8080', '-h', '/www'];

describe('networking on the dev daemon', () => {
  it('serves HTTP from inside a container on a port published on 127.0.0.1, through the bundled docker-proxy', async () => {
    const container = await startDetached(devDaemon(), HTTPD, {
      name: uniqueName('web'),
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    try {
      const ports = (await container.inspect()).NetworkSettings.Ports['8080/tcp'] ?? [];
      expect(ports.map((p) => p.HostIp)).toEqual(['127.0.0.1']);
      const hostPort = ports[0]!.HostPort;
      const response = await fetchWhenUp(`http://127.0.0.1:${hostPort}/`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('served-from-busybox-httpd\n');
      expect(bundledProxies().some((cmdline) => cmdline.includes(`-host-port ${hostPort}`))).toBe(true);
    } finally {
      await container.remove({ force: true });
    }
  });

  it('lets two containers on a user-defined bridge network reach each other by name', async () => {
    const docker = devDaemon();
    const network = await docker.createNetwork({ Name: uniqueName('net'), Driver: 'bridge' });
    const serverName = uniqueName('server');
    const server = await startDetached(docker, HTTPD, { name: serverName, HostConfig: { NetworkMode: network.id } });
    try {
      // The client retries inside the container: the server may still be starting.
      const script = `for i in $(seq 100); do wget -q -O - http://${serverName}:8080/ && exit 0; sleep 0.1; done; exit 1`;
      const client = await runToCompletion(docker, ['sh', '-c', script], { HostConfig: { NetworkMode: network.id } });
      expect(client.stdout).toBe('served-from-busybox-httpd\n');
      expect(client.exitCode).toBe(0);

      // From the dev daemon's own pool (the /16 of its bridge), never docker's 172.17+ defaults.
      const subnet = String((await network.inspect()).IPAM?.Config?.[0]?.Subnet);
      const bridge = readRecord(stateLayout(inject('devDaemonState')))!;
      expect(subnet.split('.').slice(0, 2)).toEqual(bridge.subnet.split('.').slice(0, 2));
      expect(subnet).not.toBe(bridge.subnet);
    } finally {
      await server.remove({ force: true });
      await network.remove();
    }
  });
});
