import type { ComponentDefinition } from '../builder/model.js';
import { goSources } from '../builder/pins.js';
import { CONTAINERD, containerdRecipe } from './lib/containerd.js';

/** containerd and ctr, as `make STATIC=1 binaries` builds them. */
const containerd: ComponentDefinition = (context) => ({
  name: 'containerd',
  description: 'containerd and its ctr client',
  costHint: 60,
  sources: goSources(context.env, 'CONTAINERD', CONTAINERD),
  needs: [{ kind: 'go' }],
  recipe: containerdRecipe(context, [
    { package: './cmd/containerd', output: 'containerd' },
    { package: './cmd/ctr', output: 'ctr' },
  ]),
});

export default containerd;
