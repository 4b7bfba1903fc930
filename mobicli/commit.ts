import { command } from './command.js';
import { request } from './daemon.js';
import { noContainer } from './each.js';
import { InvalidValue } from './args.js';
import { UsageError } from '../core/errors.js';
import { parseImageReference, type ImageReference } from './values.js';

export const commit = command(
  {
    path: 'commit',
    summary: "Create a new image from a container's changes",
    usage: 'CONTAINER [REPOSITORY[:TAG]]',
    flags: {},
    operands: { min: 1, max: 2 },
  },
  async ({ operands: [name, reference] }, { daemon, print }) => {
    const target = reference === undefined ? {} : imageReference(reference);
    const container = daemon.docker.getContainer(name!);
    const { Id } = await request(daemon, () => container.commit(target) as Promise<{ Id: string }>, noContainer(name!));
    print(Id);
    return 0;
  },
);

function imageReference(raw: string): ImageReference {
  try {
    return parseImageReference(raw);
  } catch (error) {
    if (error instanceof InvalidValue) throw new UsageError(`invalid image name "${raw}" for mobicli commit: ${error.message}`);
    throw error;
  }
}
