import { createHash } from 'node:crypto';
import type { Env } from '../core/env.js';
import type { ComponentRecord } from '../core/manifest.js';
import { run } from '../core/process.js';

/** One file of a bundle as the SBOM describes it. */
export interface SbomBinary {
  name: string;
  path: string;
  sha256: string;
  component: string;
  record: ComponentRecord;
}

interface GoBuildInfo {
  GoVersion?: string;
  Path?: string;
  Main?: { Path: string; Version: string; Sum?: string };
  Deps?: Array<{ Path: string; Version: string; Sum?: string; Replace?: { Path: string; Version: string; Sum?: string } }>;
}

/** A C library linked into a component's binaries, and the Debian package whose version says which one. */
interface CPart {
  name: string;
  debianPackage: string;
  linkedInto: (record: ComponentRecord) => boolean;
}

/**
 * The C in the static binaries: glibc wherever a C compiler took part (cgo
 * or cmake, linked `-static`), libseccomp where runc's `seccomp` tag is on.
 * The version is that of the Debian package the compiler linked against.
 */
const C_PARTS: readonly CPart[] = [
  { name: 'glibc', debianPackage: 'libc6-dev', linkedInto: (record) => 'cc' in record.toolchain },
  { name: 'libseccomp', debianPackage: 'libseccomp-dev', linkedInto: (record) => record.commands.some((command) => /-tags '[^']*\bseccomp\b/.test(command)) },
];

interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: Array<{ algorithm: 'SHA256'; checksumValue: string }>;
  licenseConcluded: 'NOASSERTION';
  licenseDeclared: 'NOASSERTION';
  copyrightText: 'NOASSERTION';
  primaryPackagePurpose: 'APPLICATION' | 'LIBRARY';
  externalRefs?: Array<{ referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }>;
  comment?: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: Array<{ spdxElementId: string; relationshipType: 'DESCRIBES' | 'DEPENDS_ON'; relatedSpdxElement: string }>;
}

/**
 * The SPDX 2.3 document of one bundle: each file a package with its sha256;
 * for a Go binary, every module its build info names (as `go version -m`
 * reads it from the binary itself, not from go.mod) with version and go.sum
 * checksum; for the C parts, the Debian package version. Created at the
 * release's epoch and namespaced by the files' digests, so the same bundle
 * gives the same document.
 */
export async function bundleSbom(bundle: string, version: string, binaries: readonly SbomBinary[], epochSeconds: number, env: Env): Promise<SpdxDocument> {
  const packages = new Map<string, SpdxPackage>();
  const relationships: SpdxDocument['relationships'] = [];
  const add = (pkg: SpdxPackage) => {
    if (!packages.has(pkg.SPDXID)) packages.set(pkg.SPDXID, pkg);
    return pkg.SPDXID;
  };
  const debianVersions = await debianPackageVersions(
    C_PARTS.map((part) => part.debianPackage),
    env,
  );

  for (const binary of binaries) {
    const info = await goBuildInfo(binary.path, env);
    const sourceVersion = binary.record.source.version;
    const binaryId = add({
      name: binary.name,
      SPDXID: spdxId('Binary', binary.name),
      versionInfo: sourceVersion,
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: binary.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'APPLICATION',
      comment: `${binary.component} built from ${binary.record.source.identity}${info?.GoVersion ? ` with ${info.GoVersion}` : ''}`,
    });
    relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: binaryId });
    for (const dep of info?.Deps ?? []) {
      const used = dep.Replace ?? dep;
      const sum = used.Sum ?? dep.Sum;
      const depId = add({
        name: used.Path,
        SPDXID: spdxId('Go', `${used.Path}@${used.Version}`),
        versionInfo: used.Version,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        // go.sum's h1: is base64 of a SHA-256 (over the module's file list); SPDX wants it as hex, as syft writes it.
        ...(sum?.startsWith('h1:')
          ? { checksums: [{ algorithm: 'SHA256' as const, checksumValue: Buffer.from(sum.slice(3), 'base64').toString('hex') }] }
          : {}),
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: 'LIBRARY',
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:golang/${used.Path}@${used.Version}` }],
        ...(sum ? { comment: `go.sum ${sum}` } : {}),
      });
      relationships.push({ spdxElementId: binaryId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: depId });
    }
    for (const part of C_PARTS.filter((candidate) => candidate.linkedInto(binary.record) && !binary.name.endsWith('.sh'))) {
      const debianVersion = debianVersions.get(part.debianPackage);
      const partId = add({
        name: part.name,
        SPDXID: spdxId('C', `${part.debianPackage}@${debianVersion ?? 'unknown'}`),
        ...(debianVersion ? { versionInfo: debianVersion } : {}),
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        primaryPackagePurpose: 'LIBRARY',
        ...(debianVersion
          ? {
              externalRefs: [
                {
                  referenceCategory: 'PACKAGE-MANAGER' as const,
                  referenceType: 'purl' as const,
                  referenceLocator: `pkg:deb/debian/${part.debianPackage}@${debianVersion}`,
                },
              ],
            }
          : {}),
        comment: `linked statically from Debian's ${part.debianPackage}`,
      });
      relationships.push({ spdxElementId: binaryId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: partId });
    }
  }
  const digestOfFiles = createHash('sha256')
    .update(binaries.map((binary) => `${binary.name} ${binary.sha256}\n`).join(''))
    .digest('hex');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${bundle}-${version}`,
    documentNamespace: `https://spdx.org/spdxdocs/moby-make/${bundle}-${version}-${digestOfFiles.slice(0, 32)}`,
    creationInfo: { created: new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: ['Tool: moby-make'] },
    packages: [...packages.values()],
    relationships,
  };
}

/** SPDX identifiers allow letters, digits, `.` and `-` only. */
function spdxId(kind: string, name: string): string {
  return `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/** The binary's own build info, or undefined for a file Go did not build (docker-init, the rootless scripts). */
async function goBuildInfo(path: string, env: Env): Promise<GoBuildInfo | undefined> {
  const result = await run(['go', 'version', '-m', '-json', path], { env: { ...env, GOTOOLCHAIN: 'local' } });
  if (result.exitCode !== 0) return undefined;
  return JSON.parse(result.stdout) as GoBuildInfo;
}

async function debianPackageVersions(names: readonly string[], env: Env): Promise<Map<string, string>> {
  const result = await run(['dpkg-query', '-W', '-f', '${Package} ${Version}\n', ...names], { env });
  const versions = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [name, version] = line.split(' ');
    if (name && version) versions.set(name.split(':')[0] ?? name, version);
  }
  return versions;
}
