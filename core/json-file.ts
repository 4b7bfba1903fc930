import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/**
 * A JSON file this project wrote earlier (state, caches, timings), read back
 * through its schema: a missing, corrupted or hand-edited file is `undefined`,
 * never a value of the wrong shape cast into the right type.
 */
export function readJsonFile<T>(file: string, schema: z.ZodType<T>): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
