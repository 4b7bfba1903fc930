import type { ComponentDefinition, ResolvedSource } from '../builder/model.js';
import { goSources } from '../builder/pins.js';
import { MOBY, mobyVersionStamps } from './lib/moby.js';

/** docker-proxy: pure Go, always static (moby's binary-proxy sets CGO_ENABLED=0). */
const proxy: ComponentDefinition = ({ env }) => ({
  name: 'proxy',
  description: 'docker-proxy, the userland port forwarder',
  costHint: 10,
  sources: goSources(env, 'DAEMON', MOBY),
  needs: [{ kind: 'go' }],
  recipe: {
    kind: 'go',
    binaries: [{ package: './cmd/docker-proxy', output: 'docker-proxy' }],
    cgo: false,
    tags: ['netgo', 'osusergo', 'static_build', 'nri_no_wasm', ...(env.DOCKER_BUILDTAGS ?? '').split(/\s+/).filter(Boolean)],
    ldflags: [...(env.DOCKER_DEBUG ? [] : ['-w']), ...(env.DOCKER_LDFLAGS ? [env.DOCKER_LDFLAGS] : [])],
    stamp: (source: ResolvedSource, { buildTime }) => mobyVersionStamps(env, source, buildTime),
  },
});

export default proxy;
