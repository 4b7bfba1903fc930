import { Layout } from './layout.js';

/**
 * The official busybox image's account files: buildroot's skeleton
 * (system/skeleton/etc/{passwd,group,shadow}), which docker-library/busybox
 * copies in, with root's empty password locked ('*') as the image does since
 * CVE-2019-5021. moby's tests rely on these: `daemon` is uid 1, `bin` uid 2,
 * `nobody` 65534, and `wheel` 10, `audio` 29, `staff` 50.
 */
export const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;

export const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
`;

export const SHADOW = `root:*:::::::
daemon:*:::::::
bin:*:::::::
sys:*:::::::
sync:*:::::::
mail:*:::::::
www-data:*:::::::
operator:*:::::::
nobody:*:::::::
`;

/** Debian's default, which the glibc variant copies: glibc resolves users and hosts through it. */
export const NSSWITCH = `passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      db files
services:       db files
ethers:         db files
rpc:            db files

netgroup:       nis
`;

/** buildroot's system/device_table.txt, which the image applies after copying the skeleton. */
const DEVICE_TABLE: ReadonlyArray<{ path: string; mode: number; uid: number; gid: number }> = [
  { path: 'dev', mode: 0o755, uid: 0, gid: 0 },
  { path: 'tmp', mode: 0o1777, uid: 0, gid: 0 },
  { path: 'etc', mode: 0o755, uid: 0, gid: 0 },
  { path: 'root', mode: 0o700, uid: 0, gid: 0 },
  { path: 'var/www', mode: 0o755, uid: 33, gid: 33 },
  { path: 'etc/network/if-up.d', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/network/if-pre-up.d', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/network/if-post-up.d', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/network/if-down.d', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/network/if-pre-down.d', mode: 0o755, uid: 0, gid: 0 },
  { path: 'etc/network/if-post-down.d', mode: 0o755, uid: 0, gid: 0 },
];

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', , uid = '', gid = '', , home = '', shell = ''] = line.split(':');
      return { name, uid: Number(uid), gid: Number(gid), home, shell };
    });
}

export interface BusyboxRootfs {
  /** The busybox binary's bytes. */
  busybox: Buffer;
  /** Its applets (`busybox --list`), each a hard link in /bin as `busybox --install /bin` makes them. */
  applets: readonly string[];
  /** /etc/localtime: the UTC zone file (the image's timezone is UTC). */
  localtime: Buffer;
}

/**
 * The official busybox image's tree, step by step as docker-library/busybox's
 * Dockerfile.builder makes it: /bin/busybox and an applet hard link per
 * applet, the account files, the device table's folders and modes, a home
 * folder for every account that lacks one (owned by it, 0755), /usr/bin/env,
 * and UTC as /etc/localtime.
 */
export function busyboxLayout(rootfs: BusyboxRootfs): Layout {
  const layout = new Layout();
  layout.file('bin/busybox', rootfs.busybox, 0o755);
  for (const applet of [...rootfs.applets].sort()) {
    if (applet === 'busybox' || applet.includes('/')) continue;
    layout.hardlink(`bin/${applet}`, 'bin/busybox');
  }
  layout.file('etc/group', GROUP).file('etc/passwd', PASSWD).file('etc/shadow', SHADOW);
  for (const entry of DEVICE_TABLE) {
    if (layout.get(entry.path)?.kind === 'file') continue;
    layout.dir(entry.path, entry.mode, { uid: entry.uid, gid: entry.gid });
  }
  layout.file('etc/shadow', SHADOW, 0o600).file('etc/passwd', PASSWD, 0o644);
  for (const user of parsePasswd(PASSWD)) {
    const home = user.home.replace(/^\/+/, '');
    if (home === '' || layout.has(home)) continue;
    layout.dir(home, 0o755, { uid: user.uid, gid: user.gid });
  }
  if (layout.has('bin/env')) layout.symlink('usr/bin/env', '../../bin/env');
  layout.file('etc/localtime', rootfs.localtime, 0o644);
  return layout;
}
