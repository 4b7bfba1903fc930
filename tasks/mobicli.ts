import { nextSteps } from './cli/commands.js';
import { reportError, runMain } from './cli/run-main.js';
import { devDaemonSocket } from './paths.js';
import { group } from '../mobicli/command.js';
import { connect } from '../mobicli/daemon.js';
import { commit } from '../mobicli/commit.js';
import { exec } from '../mobicli/exec.js';
import { images } from '../mobicli/images.js';
import { logs } from '../mobicli/logs.js';
import { network } from '../mobicli/network.js';
import { ps } from '../mobicli/ps.js';
import { rm } from '../mobicli/rm.js';
import { run, start } from '../mobicli/run.js';
import { stop } from '../mobicli/stop.js';

const mobicli = group({
  path: 'mobicli',
  summary: 'A small client for the Docker Engine API',
  description: [
    "It talks to $DOCKER_HOST, or to the dev daemon's socket (npm run dev-daemon)",
    'when DOCKER_HOST is unset. Exit codes: 0 done, 1 the daemon refused or is',
    "unreachable, 2 a usage error; run and exec end with their command's code.",
  ].join('\n'),
  commands: [run, start, ps, logs, exec, stop, rm, commit, images, network],
  footer: nextSteps('mobicli'),
});

const env = process.env;
await runMain(() =>
  mobicli.main(process.argv.slice(2), {
    daemon: connect(env, devDaemonSocket(env)),
    env,
    print: (line) => console.log(line),
    reportError: (error) => void reportError(error),
  }),
);
