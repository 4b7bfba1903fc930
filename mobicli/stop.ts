import { value } from './args.js';
import { command } from './command.js';
import { eachName, noContainer } from './each.js';
import { parseNonNegativeInteger } from './values.js';

export const stop = command(
  {
    path: 'stop',
    summary: 'Stop one or more running containers',
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    flags: { time: value('int', 'Seconds to wait for the container to exit before killing it (default 10)', parseNonNegativeInteger, 't') },
    operands: { min: 1, max: Infinity },
  },
  ({ flags, operands }, context) =>
    eachName(operands, context, noContainer, async (name) => {
      try {
        await context.daemon.docker.getContainer(name).stop(flags.time === undefined ? {} : { t: flags.time });
        return name;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 304) throw error;
        return `${name} (was not running)`;
      }
    }),
);
