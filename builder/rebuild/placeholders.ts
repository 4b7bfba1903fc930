import { UserError } from '../../core/errors.js';
import { replacePlaceholders, type PlaceholderPaths } from '../../core/placeholders.js';
import { isPlainShellWord } from '../../core/shell-quote.js';

/**
 * The command with every placeholder replaced by its path. Paths are spliced
 * into the text as they are, which is exact only for paths that need no
 * quoting; anything else is refused rather than replayed differently.
 */
export function expandPlaceholders(command: string, paths: PlaceholderPaths): string {
  for (const [placeholder, path] of Object.entries(paths)) {
    if (!isPlainShellWord(path)) {
      throw new UserError(
        `${placeholder} would be ${path}, which a recorded command cannot take without quoting`,
        'Use a folder whose path has only letters, digits and _ @ % + = : , . / - (e.g. set TMPDIR or move the checkout).',
      );
    }
  }
  return replacePlaceholders(command, paths, (placeholder) => {
    throw new UserError(`a recorded command uses ${placeholder}, but the manifest records no such source`);
  });
}
