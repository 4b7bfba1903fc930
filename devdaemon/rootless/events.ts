/** What setting up and running a rootless dev daemon tells its user (formats: tasks/render/rootless-lines.ts). */
export type RootlessEvent =
  | { type: 'rootless-user-created'; user: string; uid: number }
  | { type: 'subids-added'; user: string; command: string }
  /** A system device's mode was changed: what, from, to and why, so it is never silent. */
  | { type: 'tun-mode-changed'; device: string; from: string; to: string; user: string }
  /** dockerd-rootless-setuptool.sh check failed before set-up; its own words. */
  | { type: 'rootless-check-failed'; output: string[] }
  /** The check still asks for a kernel module that is demonstrably there; why we go on. */
  | { type: 'rootless-check-overridden'; asked: string[]; evidence: string };
