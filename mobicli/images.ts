import { command } from './command.js';
import { request } from './daemon.js';
import { ago, humanSize, table } from './format.js';

export const images = command(
  { path: 'images', summary: 'List images', usage: '', flags: {}, operands: { min: 0, max: 0 } },
  async (_parsed, { daemon, print }) => {
    const list = await request(daemon, () => daemon.docker.listImages());
    const now = Date.now() / 1000;
    const rows = list.flatMap((image) => {
      const tags = image.RepoTags?.filter((t) => t !== '<none>:<none>') ?? [];
      const id = image.Id.replace(/^sha256:/, '').slice(0, 12);
      const rest = [id, ago(now - image.Created), humanSize(image.Size)];
      if (tags.length === 0) return [['<none>', '<none>', ...rest]];
      return tags.map((tag) => {
        const colon = tag.lastIndexOf(':');
        return [tag.slice(0, colon), tag.slice(colon + 1), ...rest];
      });
    });
    print(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    return 0;
  },
);
