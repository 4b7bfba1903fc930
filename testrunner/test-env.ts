import { delimiter, dirname, join } from 'node:path';
import type { Env } from '../core/env.js';
import { SYSTEM_PATH } from '../core/requirements.js';

/** The variables moby's test_env passes through `env -i` from the caller, when set. */
const PASSED_THROUGH = [
  'DBUS_SESSION_BUS_ADDRESS',
  'DOCKER_API_VERSION',
  'DOCKER_BUILDKIT',
  'DOCKER_INTEGRATION_DAEMON_DEST',
  'DOCKER_IGNORE_BR_NETFILTER_ERROR',
  'DOCKER_REMAP_ROOT',
  'DOCKER_REMOTE_DAEMON',
  'DOCKER_ROOTLESS',
  'DOCKER_FIREWALL_BACKEND',
  'GITHUB_ACTIONS',
  'CI',
  'TEMP',
  'TEST_INTEGRATION_USE_GRAPHDRIVER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
] as const;

export interface TestEnvInputs {
  env: Env;
  /** moby's ABS_DEST: results, and where daemons started by tests keep their data. */
  dest: string;
  dockerHost?: string;
  bundleDir: string;
  /** moby's dev container puts its docker CLI first on PATH (/usr/local/cli), right after the bundle. */
  cliDir?: string;
  /** The `go` binary: its folder goes on PATH for `go tool test2json`. */
  goBinary: string;
  /** Binaries tests start by name (the test registry), on PATH after the bundle. */
  tools?: string[];
  gocache: string;
  gopath: string;
  graphDriver?: string;
  userlandProxy?: string;
  clientBinary?: string;
  /** The daemon mode's variables (modes.ts), whatever the caller's environment says. */
  modeEnv?: Record<string, string>;
}

/**
 * What hack/make/.integration-test-helpers' test_env gives a test binary
 * (`env -i` and a short list): the bundle first on PATH, so tests that start
 * their own daemons run the bundled dockerd; HOME a fake one under DEST.
 */
export function mobyTestEnv(inputs: TestEnvInputs): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = inputs.env[name];
    if (value) result[name] = value;
  }
  const path = [
    inputs.bundleDir,
    ...(inputs.cliDir ? [inputs.cliDir] : []),
    ...(inputs.tools ?? []).map((tool) => dirname(tool)),
    dirname(inputs.goBinary),
    ...SYSTEM_PATH.split(delimiter),
  ];
  Object.assign(result, {
    DEST: inputs.dest,
    GOCACHE: inputs.gocache,
    GOPATH: inputs.gopath,
    GOTOOLCHAIN: 'local',
    GOTRACEBACK: 'all',
    HOME: join(inputs.dest, 'fake-HOME'),
    PATH: [...new Set(path)].join(delimiter),
  });
  if (inputs.dockerHost) result.DOCKER_HOST = inputs.dockerHost;
  if (inputs.graphDriver) result.DOCKER_GRAPHDRIVER = inputs.graphDriver;
  if (inputs.userlandProxy) result.DOCKER_USERLANDPROXY = inputs.userlandProxy;
  if (inputs.clientBinary) result.TEST_CLIENT_BINARY = inputs.clientBinary;
  return { ...result, ...inputs.modeEnv };
}
