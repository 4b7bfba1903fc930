import type Docker from 'dockerode';
import { bool } from './args.js';
import { command } from './command.js';
import { request } from './daemon.js';
import { ago, table, truncate } from './format.js';

export const ps = command(
  {
    path: 'ps',
    summary: 'List containers',
    usage: '[OPTIONS]',
    flags: { all: bool('Show all containers (default shows just running)', 'a') },
    operands: { min: 0, max: 0 },
  },
  async ({ flags }, { daemon, print }) => {
    const containers = await request(daemon, () => daemon.docker.listContainers({ all: flags.all }));
    const now = Date.now() / 1000;
    const rows = containers.map((c) => [
      c.Id.slice(0, 12),
      c.Image,
      `"${truncate(c.Command, 20)}"`,
      ago(now - c.Created),
      c.Status,
      ports(c.Ports),
      c.Names.map((n) => n.replace(/^\//, '')).join(','),
    ]);
    print(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], rows));
    return 0;
  },
);

/** 127.0.0.1:8080->80/tcp, 443/tcp: published ones with their host side. */
function ports(list: readonly Docker.Port[]): string {
  const shown = list.map(
    (p) => (p.PublicPort ? `${p.IP ? `${p.IP.includes(':') ? `[${p.IP}]` : p.IP}:` : ''}${p.PublicPort}->` : '') + `${p.PrivatePort}/${p.Type}`,
  );
  return [...new Set(shown)].join(', ');
}
