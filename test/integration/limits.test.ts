import { describe, expect, it } from 'vitest';
import { devDaemon, runToCompletion } from './support/containers.js';

const MIB = 1024 * 1024;

describe('resource limits on the dev daemon', () => {
  it('kills a process that outgrows its memory limit and reports OOMKilled', async () => {
    // busybox tail keeps /dev/zero's endless "line" in memory until the cgroup limit stops it.
    const result = await runToCompletion(devDaemon(), ['tail', '/dev/zero'], { HostConfig: { Memory: 32 * MIB, MemorySwap: 32 * MIB } });
    expect(result.inspect.HostConfig.Memory).toBe(32 * MIB);
    expect(result.inspect.State.OOMKilled).toBe(true);
    expect(result.exitCode).toBe(137);
  });
});
