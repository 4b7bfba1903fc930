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
  const parsed = schema.safeParse(jsonOrUndefined(text));
  return parsed.success ? parsed.data : undefined;
}

/** JSON text (or bytes of it) as a value, or undefined when it is not JSON: for a schema to judge next. */
export function jsonOrUndefined(text: string | Buffer): unknown {
  try {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return undefined;
  }
}
