/**
 * What goes where in Docker's release artifacts, as docker-ce-packaging
 * (`static/`, `deb/common/control` and `rules`) and containerd-packaging lay
 * them out. Tables, not code: a file added to a package is a row here.
 */

/** A file of the bundles (by its name there) or of a component's source tree (`<component>:<path>`). */
export type FileSource = { bundleFile: string } | { component: string; path: string };

export interface StaticTarball {
  /** `docker` gives `docker-<ver>.tgz` holding `docker/`. */
  name: string;
  files: readonly string[];
}

export const STATIC_TARBALLS: readonly StaticTarball[] = [
  { name: 'docker', files: ['docker', 'dockerd', 'containerd', 'ctr', 'containerd-shim-runc-v2', 'docker-init', 'docker-proxy', 'runc'] },
  { name: 'docker-rootless-extras', files: ['rootlesskit', 'dockerd-rootless.sh', 'dockerd-rootless-setuptool.sh'] },
];

/** Whose version a package carries: docker-ce's (the engine's, gen-deb-ver) or containerd's (containerd-packaging's). */
export type VersionScheme = 'docker-ce' | 'containerd';

export interface PackagedFile {
  from: FileSource;
  /** Absolute path on the installed system. */
  to: string;
  mode: number;
  /** Text replaced on the way in, as the packaging's rules do with sed (containerd's unit names /usr/local/bin). */
  rewrite?: readonly [from: string, to: string];
}

export interface DebPackage {
  name: string;
  version: VersionScheme;
  /** The component whose LICENSE the package's copyright file states, and whose version a containerd-scheme package carries. */
  licenseOf: string;
  copyright: { since: number; holder: string };
  section: string;
  homepage: string;
  relations: Partial<
    Record<'Pre-Depends' | 'Depends' | 'Recommends' | 'Suggests' | 'Conflicts' | 'Replaces' | 'Breaks' | 'Provides' | 'Enhances', readonly string[]>
  >;
  description: string;
  files: readonly PackagedFile[];
  /** systemd units enabled on install and stopped on removal, as dh_installsystemd's maintainer scripts do. */
  units: readonly string[];
  /** System groups the package's units need (docker.socket's SocketGroup), made by its postinst. */
  groups: readonly string[];
  /** Why a lintian tag is expected, given as the package's override (`/usr/share/lintian/overrides/<name>`). */
  lintianOverrides: readonly { tag: string; why: string }[];
}

const bin = (name: string, to = `/usr/bin/${name}`): PackagedFile => ({ from: { bundleFile: name }, to, mode: 0o755 });
const completion = (path: string, to: string): PackagedFile => ({ from: { component: 'cli', path: `contrib/completion/${path}` }, to, mode: 0o644 });

/** Go links statically on purpose (one binary, no shared-library drift), and docker-ce ships it so. */
const STATIC_GO = { tag: 'statically-linked-binary', why: 'Go and tini are linked statically on purpose, as docker-ce ships them' };
/** Go's binaries are not stripped upstream either (dh_strip is overridden: "Go has lots of problems with stripping"). */
const UNSTRIPPED = { tag: 'unstripped-binary-or-object', why: 'docker-ce overrides dh_strip: stripping breaks Go binaries' };
/** A package built outside Debian's archive closes no Debian bug. */
const NOT_UPLOADED = { tag: 'initial-upload-closes-no-bugs', why: 'not uploaded to Debian: there is no ITP bug to close' };
const NO_MANPAGE = { tag: 'no-manual-page', why: 'the manual pages are built from docker/cli, not from this bundle' };

const ENGINE_DESCRIPTION = `Docker: the open-source application container engine
Docker is a product for you to build, ship and run any application as a
lightweight container.`;

export const DEB_PACKAGES: readonly DebPackage[] = [
  {
    name: 'docker-ce',
    copyright: { since: 2013, holder: 'Docker, Inc.' },
    version: 'docker-ce',
    licenseOf: 'daemon',
    section: 'admin',
    homepage: 'https://www.docker.com',
    relations: {
      'Pre-Depends': ['init-system-helpers (>= 1.54~)'],
      Depends: ['containerd.io (>= 1.7.27)', 'docker-ce-cli', 'iptables', 'nftables'],
      Recommends: ['apparmor', 'ca-certificates', 'docker-ce-rootless-extras', 'git', 'pigz', 'procps', 'xz-utils'],
      Suggests: ['cgroupfs-mount | cgroup-lite', 'kmod'],
      Conflicts: ['docker (<< 1.5~)', 'docker-engine', 'docker.io'],
      Replaces: ['docker-engine', 'docker-ce-cli (<< 5:28.0.0)'],
    },
    description: ENGINE_DESCRIPTION,
    files: [
      bin('dockerd'),
      bin('docker-proxy'),
      bin('docker-init', '/usr/libexec/docker/docker-init'),
      { from: { component: 'daemon', path: 'contrib/init/systemd/docker.service' }, to: '/lib/systemd/system/docker.service', mode: 0o644 },
      { from: { component: 'daemon', path: 'contrib/init/systemd/docker.socket' }, to: '/lib/systemd/system/docker.socket', mode: 0o644 },
    ],
    units: ['docker.socket', 'docker.service'],
    groups: ['docker'],
    lintianOverrides: [STATIC_GO, UNSTRIPPED, NO_MANPAGE, NOT_UPLOADED],
  },
  {
    name: 'docker-ce-cli',
    copyright: { since: 2013, holder: 'Docker, Inc.' },
    version: 'docker-ce',
    licenseOf: 'cli',
    section: 'admin',
    homepage: 'https://www.docker.com',
    relations: {
      Recommends: ['docker-buildx-plugin', 'docker-compose-plugin'],
      Conflicts: ['docker (<< 1.5~)', 'docker-engine', 'docker.io'],
      Replaces: ['docker-ce (<< 5:0)'],
      Breaks: ['docker-ce (<< 5:0)'],
    },
    description: `Docker CLI: the open-source application container engine
The docker command, which talks to a Docker engine over its API.`,
    // docker-ce-packaging's rules install the CLI's completions where bash-completion, zsh and fish look for vendor ones.
    files: [
      bin('docker'),
      completion('bash/docker', '/usr/share/bash-completion/completions/docker'),
      completion('zsh/_docker', '/usr/share/zsh/vendor-completions/_docker'),
      completion('fish/docker.fish', '/usr/share/fish/vendor_completions.d/docker.fish'),
    ],
    units: [],
    groups: [],
    lintianOverrides: [STATIC_GO, UNSTRIPPED, NO_MANPAGE, NOT_UPLOADED],
  },
  {
    name: 'docker-ce-rootless-extras',
    copyright: { since: 2018, holder: 'The RootlessKit authors and Docker, Inc.' },
    version: 'docker-ce',
    licenseOf: 'rootlesskit',
    section: 'admin',
    homepage: 'https://docs.docker.com/engine/security/rootless/',
    relations: { Depends: ['dbus-user-session'], Enhances: ['docker-ce'], Conflicts: ['rootlesskit'], Replaces: ['rootlesskit'], Breaks: ['rootlesskit'] },
    description: `Rootless support for Docker.
Use dockerd-rootless.sh to run the daemon.
Use dockerd-rootless-setuptool.sh to setup systemd for dockerd-rootless.sh.`,
    files: [bin('rootlesskit'), bin('dockerd-rootless.sh'), bin('dockerd-rootless-setuptool.sh')],
    units: [],
    groups: [],
    lintianOverrides: [
      STATIC_GO,
      UNSTRIPPED,
      NO_MANPAGE,
      NOT_UPLOADED,
      { tag: 'script-with-language-extension', why: 'the script names upstream ships and documents' },
    ],
  },
  {
    name: 'containerd.io',
    copyright: { since: 2015, holder: 'The containerd Authors' },
    version: 'containerd',
    licenseOf: 'containerd',
    section: 'devel',
    homepage: 'https://containerd.io',
    relations: {
      'Pre-Depends': ['init-system-helpers (>= 1.54~)'],
      Provides: ['containerd', 'runc'],
      Conflicts: ['containerd', 'runc'],
      Replaces: ['containerd', 'runc'],
      Breaks: ['containerd', 'runc'],
    },
    description: `An open and reliable container runtime
containerd with its runc shim, ctr, and runc, as Docker's packages ship them.`,
    files: [
      bin('containerd'),
      bin('ctr'),
      bin('containerd-shim-runc-v2'),
      bin('runc'),
      {
        from: { component: 'containerd', path: 'containerd.service' },
        to: '/lib/systemd/system/containerd.service',
        mode: 0o644,
        rewrite: ['/usr/local/bin/containerd', '/usr/bin/containerd'],
      },
    ],
    units: ['containerd.service'],
    groups: [],
    lintianOverrides: [
      STATIC_GO,
      UNSTRIPPED,
      NO_MANPAGE,
      NOT_UPLOADED,
      { tag: 'shared-library-lacks-prerequisites', why: 'runc is a static PIE (ET_DYN with no interpreter), not a library' },
      { tag: 'description-synopsis-starts-with-article', why: "containerd-packaging's description, word for word" },
    ],
  },
];
