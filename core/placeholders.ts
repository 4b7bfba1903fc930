/**
 * The placeholders in recorded commands: part of the manifest's contract, so
 * that a cache key and a record do not depend on where a build happened to
 * run. The manifest's `replay.placeholders` explains them to its readers.
 */
export const SRC = '@SRC@';
export const OUT = '@OUT@';
export const WORK = '@WORK@';

/** An extra source tree of a component (e.g. rootlesskit's moby checkout). */
export function extraSourcePlaceholder(name: string): string {
  return `@SRC:${name}@`;
}

/** Placeholder → absolute path. */
export type PlaceholderPaths = Readonly<Record<string, string>>;

const PLACEHOLDER = /@(?:SRC|OUT|WORK|SRC:[\w-]+)@/g;

/** The text with each placeholder replaced; `missing` decides what an unknown one becomes. */
export function replacePlaceholders(text: string, paths: PlaceholderPaths, missing: (placeholder: string) => string = (p) => p): string {
  return text.replace(PLACEHOLDER, (placeholder) => paths[placeholder] ?? missing(placeholder));
}
