import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../tasks/paths.js';

const docsDir = join(projectRoot, 'docs');
const pages = [join(projectRoot, 'README.md'), join(projectRoot, 'CONTRIBUTING.md'), ...readdirSync(docsDir).map((name) => join(docsDir, name))];

/** Markdown outside code fences and inline code: links there are text, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  page: string;
  target: string;
}

function relativeLinks(page: string): Link[] {
  const links: Link[] = [];
  for (const [, target] of prose(readFileSync(page, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (target && !/^[a-z]+:/.test(target)) links.push({ page, target });
  }
  return links;
}

describe('README.md and docs/', () => {
  const links = pages.flatMap(relativeLinks);

  it('have links to check', () => {
    expect(links.length).toBeGreaterThan(30);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const { page, target } of links) {
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? page : resolve(dirname(page), path);
      const where = `${relative(projectRoot, page)}: ${target}`;
      if (!existsSync(file)) broken.push(`${where} (no such file)`);
      else if (anchor !== undefined && (statSync(file).isDirectory() || !anchorsOf(readFileSync(file, 'utf8')).has(anchor)))
        broken.push(`${where} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });

  it('reach every page of docs/ from the README', () => {
    const fromReadme = new Set(relativeLinks(join(projectRoot, 'README.md')).map(({ target }) => resolve(projectRoot, target.split('#')[0] ?? '')));
    const orphans = readdirSync(docsDir)
      .map((name) => join(docsDir, name))
      .filter((page) => !fromReadme.has(page));
    expect(orphans).toEqual([]);
  });

  it('keep the README to what a newcomer reads first', () => {
    expect(readFileSync(join(projectRoot, 'README.md'), 'utf8').split('\n').length).toBeLessThan(250);
  });

  it('name anchors the way GitHub does', () => {
    expect([...anchorsOf("# moby CI's matrix: modes, shards, `--jobs`, merged reports\n## Rootless\n## Rootless")]).toEqual([
      'moby-cis-matrix-modes-shards---jobs-merged-reports',
      'rootless',
      'rootless-1',
    ]);
  });
});
