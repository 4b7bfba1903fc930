import { toStderr, type LineFormats } from '../../core/events.js';
import type { RootlessEvent } from '../../devdaemon/rootless/events.js';

/** The rootless dev daemon's set-up as plain lines; every change to the machine is named with its reason. */
export const rootlessLines: LineFormats<RootlessEvent> = {
  'rootless-user-created': (event) =>
    `created the system user ${event.user} (uid ${event.uid}, no login, no home) to run the rootless dev daemon; pass --user NAME to use another`,
  'subids-added': (event) => `gave ${event.user} subordinate uids and gids for rootlesskit's user namespace: ${event.command}`,
  'tun-mode-changed': (event) =>
    `changed ${event.device} from ${event.from} to ${event.to} (the mode Debian's udev gives it) so slirp4netns, running as ${event.user}, can create its tap device; opening it grants nothing without CAP_NET_ADMIN. It stays ${event.to} until reboot.`,
  'rootless-check-failed': (event) => toStderr(['dockerd-rootless-setuptool.sh check failed before set-up:', ...event.output.map((line) => `  ${line}`)]),
  'rootless-check-overridden': (event) =>
    `dockerd-rootless-setuptool.sh check still asks for: ${event.asked.join('; ')}. Going on: ${event.evidence} (the check only reads /proc/modules and /lib/modules, which a kernel with netfilter built in may lack).`,
};
