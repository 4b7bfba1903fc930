import { accessSync, constants, statSync } from 'node:fs';

/**
 * Every network driver dockerd-rootless.sh can use here (slirp4netns,
 * gvisor-tap-vsock, pasta, vpnkit) creates a tap device inside rootlesskit's
 * namespace, which opens this node as the unprivileged user. Opening it grants
 * nothing by itself: creating or attaching an interface still needs
 * CAP_NET_ADMIN over the network namespace. That is why Debian's udev makes it
 * 0666; some minimal machines leave the kernel's 0600.
 */
export const TUN_DEVICE = '/dev/net/tun';
export const TUN_MODE = 0o666;

/** The device's permission bits when the user (other than root) cannot open it for reading and writing, else undefined. */
export function tunModeToFix(uid: number, gid: number, device = TUN_DEVICE): number | undefined {
  let stat;
  try {
    stat = statSync(device);
  } catch {
    return undefined; // no tun at all: the check and rootlesskit say so in their own words
  }
  const mode = stat.mode & 0o777;
  if (process.getuid?.() === uid) {
    try {
      accessSync(device, constants.R_OK | constants.W_OK);
      return undefined;
    } catch {
      return mode;
    }
  }
  const bits = stat.uid === uid ? (mode >> 6) & 7 : stat.gid === gid ? (mode >> 3) & 7 : mode & 7;
  return (bits & 6) === 6 ? undefined : mode;
}

export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
