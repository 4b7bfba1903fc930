import { CLIENT_BUNDLE } from '../core/bundle-layout.js';
import { dockerCli, type DockerCliBuild } from './lib/docker-cli.js';

/** docker/cli at moby's DOCKERCLI_VERSION: the client bundle, and /usr/local/cli in the tests' dev container. The repository has no go.mod, so the proxy serves it as +incompatible. */
export const CLI_BUILD: DockerCliBuild = {
  name: 'cli',
  description: 'docker, the command-line client',
  bundle: CLIENT_BUNDLE,
  variablePrefix: 'DOCKERCLI',
  pin: {
    module: 'github.com/docker/cli',
    repository: 'https://github.com/docker/cli.git',
    release: { version: 'v29.7.1', sum: 'h1:ILZpP6B7fedIr6ANy824QkDp1WMJuouIq0O2SrBkB2w=' },
    incompatible: true,
  },
  // The module proxy does not report v29.7.1's commit, so the short id is pinned as published rather than derived.
  releaseShortCommit: 'e9452d6',
};

export default dockerCli(CLI_BUILD);
