import { UserError } from '../../core/errors.js';
import type { SourceFile } from '../../core/apt-sources.js';

export interface AptEntry {
  uri: string;
  suites: string[];
  components: string[];
}

/** The `deb` entries of apt source files, deb822 and one-line alike (disabled ones and deb-src left out). */
export function debEntries(files: readonly SourceFile[]): AptEntry[] {
  const entries: AptEntry[] = [];
  for (const file of files) {
    if (file.name.endsWith('.sources')) {
      for (const stanza of file.text.split(/\n[ \t]*\n/)) {
        const lines = stanza.split('\n').filter((line) => !line.trimStart().startsWith('#'));
        const field = (name: string) =>
          lines
            .find((l) => new RegExp(`^${name}:`, 'i').test(l))
            ?.slice(name.length + 1)
            .trim();
        const words = (name: string) => field(name)?.split(/\s+/).filter(Boolean) ?? [];
        if (!words('Types').includes('deb') || /^(no|false|0)$/i.test(field('Enabled') ?? 'yes')) continue;
        for (const uri of words('URIs')) entries.push({ uri, suites: words('Suites'), components: words('Components') });
      }
    } else {
      for (const raw of file.text.split('\n')) {
        const line = raw
          .replace(/#.*$/, '')
          .replace(/\[[^\]]*\]/, '')
          .trim();
        const [type, uri, suite, ...components] = line.split(/\s+/);
        if (type === 'deb' && uri && suite) entries.push({ uri, suites: [suite], components });
      }
    }
  }
  return entries;
}

export interface DebianMirrors {
  /** The archive (…/debian): suites like trixie and trixie-updates. */
  archive: string;
  /** The security archive (…/debian-security), when the machine uses one. */
  security?: string;
}

/**
 * The Debian mirrors this machine's apt already uses, found by the suites of
 * its own release (`codename`, `codename-security`), so whatever mirror or
 * proxy the administrator chose is the one we use — no host name is ours.
 */
export function debianMirrors(files: readonly SourceFile[], codename: string): DebianMirrors {
  const entries = debEntries(files);
  const archive = entries.find((e) => e.suites.includes(codename) && e.components.includes('main'));
  const security = entries.find((e) => e.suites.includes(`${codename}-security`));
  if (!archive) {
    throw new UserError(
      `no Debian mirror for ${codename} (main) in this machine's apt sources`,
      'debian:trixie-slim is made from the Debian mirror the machine already uses; add one to the apt sources.',
    );
  }
  return { archive: archive.uri, ...(security ? { security: security.uri } : {}) };
}

/** The image's /etc/apt/sources.list.d/debian.sources, as the official image has it, on the machine's mirrors. */
export function debianSources(mirrors: DebianMirrors, suite: string): string {
  const stanza = (uri: string, suites: string) =>
    `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
  const stanzas = [stanza(mirrors.archive, `${suite} ${suite}-updates`)];
  if (mirrors.security) stanzas.push(stanza(mirrors.security, `${suite}-security`));
  return stanzas.join('\n');
}

/** VERSION_CODENAME and ID from an os-release file's text. */
export function osRelease(text: string): { id?: string; codename?: string } {
  const value = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
  const id = value('ID');
  const codename = value('VERSION_CODENAME');
  return { ...(id ? { id } : {}), ...(codename ? { codename } : {}) };
}
