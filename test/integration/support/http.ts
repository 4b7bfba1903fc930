import { setTimeout as sleep } from 'node:timers/promises';

/** httpd starts a moment after its container does; asking again is waiting, not asserting. */
export async function fetchWhenUp(url: string, attempts = 100): Promise<Response> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fetch(url);
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(100);
    }
  }
}
