import { dockerCli } from './lib/docker-cli.js';

/**
 * The older docker CLI moby's integration-cli suite is written against
 * (its Dockerfile's DOCKERCLI_INTEGRATION_VERSION, the dev container's
 * /usr/local/cli-integration and TEST_CLIENT_BINARY): a bundle of its own,
 * so `docker` stays the current client.
 *
 * moby pins v25.0.5, but v25.0.4 to v25.0.6 need github.com/docker/docker
 * at pseudo-versions the module proxy does not serve (it answers 403), so
 * they cannot be built and verified here; v25.0.3 is the nearest release
 * whose every dependency it serves. DOCKERCLI_INTEGRATION_VERSION picks another.
 */
export default dockerCli({
  name: 'cli-integration',
  description: 'docker at DOCKERCLI_INTEGRATION_VERSION, the client integration-cli tests drive',
  bundle: 'binary-cli-integration',
  variablePrefix: 'DOCKERCLI_INTEGRATION',
  pin: {
    module: 'github.com/docker/cli',
    repository: 'https://github.com/docker/cli.git',
    release: { version: 'v25.0.3', sum: 'h1:KLeNs7zws74oFuVhgZQ5ONGZiXUUdgsdy6/EsX/6284=' },
    incompatible: true,
  },
  // The module proxy does not report v25.0.3's commit: its release binaries' build id, as published.
  releaseShortCommit: '4debf41',
});
