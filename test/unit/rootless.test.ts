import { describe, expect, it } from 'vitest';
import { parseDevDaemonArgs } from '../../tasks/cli/dev-daemon-args.js';
import { commandsIn, onlyAsksForIptablesModule } from '../../devdaemon/rootless/check.js';
import { rootlessEnv } from '../../devdaemon/rootless/launch.js';
import { freeRange, hasRange, parseSubids } from '../../devdaemon/rootless/subids.js';
import { stateLayout } from '../../devdaemon/layout.js';

/** What `dockerd-rootless-setuptool.sh check` printed on this machine (colour codes already removed). */
const CHECK_OUTPUT = [
  '########## BEGIN ##########',
  'sudo sh -eux <<EOF',
  '# Load nf_tables module',
  'modprobe nf_tables',
  'EOF',
  '########## END ##########',
  '[ERROR] Missing system requirements. Run the following commands to',
];

describe('rootless set-up check', () => {
  it("reads the commands from the tool's sudo block, comments left out", () => {
    expect(commandsIn(CHECK_OUTPUT)).toEqual(['modprobe nf_tables']);
    expect(commandsIn(['all good'])).toEqual([]);
  });

  it('treats only a module request as the overridable kind', () => {
    expect(onlyAsksForIptablesModule({ passed: false, commands: ['modprobe nf_tables'], output: CHECK_OUTPUT })).toBe(true);
    expect(onlyAsksForIptablesModule({ passed: false, commands: ['modprobe nf_tables', 'apt-get install -y uidmap'], output: [] })).toBe(false);
    expect(onlyAsksForIptablesModule({ passed: false, commands: [], output: ['[ERROR] something else'] })).toBe(false);
  });
});

describe('subordinate ids', () => {
  const ranges = parseSubids('alice:100000:65536\n1001:165536:65536\nbroken line\nbob:300000:1000\n');

  it('finds a full range by login or by uid, and ignores short ones', () => {
    expect(hasRange(ranges, 'alice', 1000)).toBe(true);
    expect(hasRange(ranges, 'carol', 1001)).toBe(true);
    expect(hasRange(ranges, 'bob', 1002)).toBe(false);
    expect(hasRange(ranges, 'dave', undefined)).toBe(false);
  });

  it('hands out 65536 ids above every existing range, from 100000 on an empty file', () => {
    expect(freeRange([])).toEqual({ start: 100000, end: 165535 });
    expect(freeRange(ranges)).toEqual({ start: 301000, end: 366535 });
  });
});

describe('rootless command line and environment', () => {
  it('takes --rootless, --user and --no-install, and --user only with --rootless', () => {
    expect(parseDevDaemonArgs(['--rootless', '--user', 'alice', '--no-install', '--debug'])).toMatchObject({
      rootless: true,
      user: 'alice',
      noInstall: true,
      dockerdArgs: ['--debug'],
    });
    expect(parseDevDaemonArgs(['stop', '--rootless'])).toMatchObject({ command: 'stop', rootless: true });
    expect(() => parseDevDaemonArgs(['--user', 'alice'])).toThrow(/--user only applies with --rootless/);
  });

  it("keeps root's environment out and everything of the daemon's under the state folder", () => {
    const env = rootlessEnv(
      stateLayout('/s'),
      '/b/binary-daemon',
      { name: 'alice', uid: 1000, gid: 1000 },
      {
        PATH: '/usr/bin',
        HOME: '/root',
        SECRET: 'x',
        DOCKERD_ROOTLESS_ROOTLESSKIT_MTU: '1500',
      },
    );
    expect(env).toMatchObject({ HOME: '/s/home', XDG_RUNTIME_DIR: '/s/run', USER: 'alice', DOCKERD_ROOTLESS_ROOTLESSKIT_NET: 'slirp4netns' });
    expect(env.PATH?.split(':')[0]).toBe('/b/binary-daemon');
    expect(env.DOCKERD_ROOTLESS_ROOTLESSKIT_MTU).toBe('1500');
    expect(env.SECRET).toBeUndefined();
  });
});
