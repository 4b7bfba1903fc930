import { bool } from './args.js';
import { command } from './command.js';
import { eachName, noContainer } from './each.js';

export const rm = command(
  {
    path: 'rm',
    summary: 'Remove one or more containers',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    flags: { force: bool('Remove a running container too (it is killed first)', 'f') },
    operands: { min: 1, max: Infinity },
  },
  ({ flags, operands }, context) =>
    eachName(operands, context, noContainer, async (name) => {
      await context.daemon.docker.getContainer(name).remove({ force: flags.force });
      return name;
    }),
);
