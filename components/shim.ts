import type { ComponentDefinition } from '../builder/model.js';
import { goSources } from '../builder/pins.js';
import { CONTAINERD, containerdRecipe } from './lib/containerd.js';

/** The runc shim, built from the containerd module with the Makefile's shim tags. */
const shim: ComponentDefinition = (context) => ({
  name: 'shim',
  description: 'containerd-shim-runc-v2',
  costHint: 25,
  sources: goSources(context.env, 'CONTAINERD', CONTAINERD),
  needs: [{ kind: 'go' }],
  recipe: containerdRecipe(context, [{ package: './cmd/containerd-shim-runc-v2', output: 'containerd-shim-runc-v2', extraTags: ['no_grpc'] }]),
});

export default shim;
