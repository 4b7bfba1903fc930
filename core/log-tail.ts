import { readFile } from 'node:fs/promises';

/** The last `count` non-empty lines of a log file; none when it cannot be read. */
export async function lastLines(file: string, count: number): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').filter(Boolean).slice(-count);
}
