import type { ComponentDefinition } from '../builder/model.js';
import { goSources } from '../builder/pins.js';
import { MOBY } from './lib/moby.js';

/** rootlesskit (CGO off, as moby's rootlesskit installer), plus moby's two rootless scripts. */
const rootlesskit: ComponentDefinition = ({ env }) => ({
  name: 'rootlesskit',
  description: 'rootlesskit and the dockerd-rootless scripts',
  costHint: 40,
  sources: goSources(env, 'ROOTLESSKIT', {
    module: 'github.com/rootless-containers/rootlesskit/v3',
    repository: 'https://github.com/rootless-containers/rootlesskit.git',
    release: { version: 'v3.1.0', commit: '62d2101fbbe4f79bc845a337c4e868d27ff602c9', sum: 'h1:6RR+6Y9aml6gIkn4ohcHIpIy6I7Wmyt3iglKKEIb678=' },
  }),
  extraSources: { moby: goSources(env, 'DAEMON', MOBY) },
  needs: [{ kind: 'go' }],
  recipe: {
    kind: 'go',
    binaries: [{ package: './cmd/rootlesskit', output: 'rootlesskit' }],
    cgo: false,
    tags: [],
    ldflags: [],
    stamp: () => ({}),
  },
  copies: [
    { from: 'moby', path: 'contrib/dockerd-rootless.sh', output: 'dockerd-rootless.sh', mode: 0o755 },
    { from: 'moby', path: 'contrib/dockerd-rootless-setuptool.sh', output: 'dockerd-rootless-setuptool.sh', mode: 0o755 },
  ],
});

export default rootlesskit;
