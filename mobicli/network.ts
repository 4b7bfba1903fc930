import { text, value } from './args.js';
import { command, group } from './command.js';
import { request } from './daemon.js';
import { eachName } from './each.js';
import { table } from './format.js';
import { parseSubnet } from './values.js';

const create = command(
  {
    path: 'network create',
    summary: 'Create a network',
    usage: '[OPTIONS] NETWORK',
    flags: {
      driver: value('string', 'Driver that manages the network (default bridge)', text, 'd'),
      subnet: value('string', 'Subnet in CIDR form; a host address (192.168.10.1/24) becomes the gateway', parseSubnet),
    },
    operands: { min: 1, max: 1 },
  },
  async ({ flags, operands: [name] }, { daemon, print }) => {
    const ipam = flags.subnet
      ? { IPAM: { Driver: 'default', Config: [{ Subnet: flags.subnet.subnet, ...(flags.subnet.gateway ? { Gateway: flags.subnet.gateway } : {}) }] } }
      : {};
    const network = await request(daemon, () => daemon.docker.createNetwork({ Name: name!, Driver: flags.driver ?? 'bridge', ...ipam }));
    print(network.id);
    return 0;
  },
);

const ls = command({ path: 'network ls', summary: 'List networks', usage: '', flags: {}, operands: { min: 0, max: 0 } }, async (_parsed, { daemon, print }) => {
  const networks = await request(daemon, () => daemon.docker.listNetworks());
  const rows = networks.sort((a, b) => a.Name.localeCompare(b.Name)).map((n) => [n.Id.slice(0, 12), n.Name, n.Driver, n.Scope]);
  print(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], rows));
  return 0;
});

const rm = command(
  { path: 'network rm', summary: 'Remove one or more networks', usage: 'NETWORK [NETWORK...]', flags: {}, operands: { min: 1, max: Infinity } },
  ({ operands }, context) =>
    eachName(
      operands,
      context,
      (name) => () => ({ what: `no network named ${name}` }),
      async (name) => {
        await context.daemon.docker.getNetwork(name).remove();
        return name;
      },
    ),
);

export const network = group({ path: 'network', summary: 'Manage networks', commands: [create, ls, rm] });
