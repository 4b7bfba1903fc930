import { describe, expect, it } from 'vitest';
import { cacheConfig, parseAddress } from '../../cache/config.js';
import { isLoopback, parseChallenge } from '../../cache/registry.js';

describe('the shared cache registry setting', () => {
  it('is host[:port]/repository, and nothing else', () => {
    expect(parseAddress('registry.example:5000/team/moby-make', 'X')).toEqual({ host: 'registry.example:5000', repository: 'team/moby-make' });
    expect(parseAddress('[::1]:5000/cache', 'X')).toEqual({ host: '[::1]:5000', repository: 'cache' });
    for (const bad of ['https://registry.example/cache', 'registry.example', 'registry.example/Cache', 'registry.example/', 'registry.example/a//b']) {
      expect(() => parseAddress(bad, 'MOBY_MAKE_CACHE_REGISTRY'), bad).toThrow(/^MOBY_MAKE_CACHE_REGISTRY=.* is not host\[:port\]\/repository$/);
    }
  });

  it('is off unless set; read-only unless MOBY_MAKE_CACHE_PUSH is set; the flag wins over the variable', () => {
    expect(cacheConfig({})).toBeUndefined();
    expect(cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c' })).toMatchObject({ push: false, timeoutMs: 10_000 });
    expect(cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c', MOBY_MAKE_CACHE_PUSH: '1' })).toMatchObject({ push: true });
    expect(cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c', MOBY_MAKE_CACHE_PUSH: '0' })).toMatchObject({ push: false });
    expect(cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c' }, 'other.example/d')?.address).toEqual({ host: 'other.example', repository: 'd' });
    expect(() => cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c', MOBY_MAKE_CACHE_TIMEOUT: 'soon' })).toThrow(/MOBY_MAKE_CACHE_TIMEOUT=soon/);
    expect(() => cacheConfig({ MOBY_MAKE_CACHE_REGISTRY: 'r.example/c', MOBY_MAKE_CACHE_CA: '/nonexistent/ca.pem' })).toThrow(
      /MOBY_MAKE_CACHE_CA=\/nonexistent\/ca.pem: no such file/,
    );
  });

  it('reads the challenges registries answer a 401 with', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/x:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:team/x:pull' },
    });
    expect(parseChallenge('Basic realm="moby-make-tests"')).toEqual({ scheme: 'basic', params: { realm: 'moby-make-tests' } });
    expect(parseChallenge('Bearer realm=https://a/t, error="invalid_token"').params).toEqual({ realm: 'https://a/t', error: 'invalid_token' });
  });

  it('allows plain HTTP only on loopback', () => {
    for (const host of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['registry.example:5000', '10.0.0.1:5000', '[fe80::1]:5000', '127.0.0.1.example']) expect(isLoopback(host), host).toBe(false);
  });
});
