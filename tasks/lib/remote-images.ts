import { cacheConfig } from '../../cache/config.js';
import { RegistryImageStore } from '../../cache/image-store.js';
import type { Env } from '../../core/env.js';
import type { RemoteImages } from '../../core/remote-images.js';
import type { RemoteNotice } from '../../core/remote-outputs.js';

/** The shared cache for frozen images when --cache-registry or MOBY_MAKE_CACHE_REGISTRY is set (read-only unless MOBY_MAKE_CACHE_PUSH=1); undefined otherwise. */
export async function openRemoteImages(env: Env, onNotice: (notice: RemoteNotice) => void, flag?: string): Promise<RemoteImages | undefined> {
  const config = cacheConfig(env, flag);
  return config ? RegistryImageStore.open(config, env, onNotice) : undefined;
}
