import type { LineFormats } from '../../core/events.js';
import type { InstallCheckEvent } from '../../release/install-check.js';
import type { PackageEvent } from '../../release/package.js';
import type { ReleaseVerifyEvent } from '../../release/verify.js';
import { shellLines, type ShellEvent } from './shell-lines.js';

/** `npm run package` as plain lines: the plan, one line per artifact, lintian's findings, where it all went. */
export const packageLines: LineFormats<PackageEvent> = {
  plan: (event) => [
    `packaging version ${event.version} into ${event.target}`,
    `timestamps: ${new Date(event.epoch * 1000).toISOString()} (${event.epochFrom}); provenance ${event.signing ? 'signed with MOBY_MAKE_SIGN_KEY' : 'unsigned (set MOBY_MAKE_SIGN_KEY to sign)'}`,
    ...(event.daemonStampedAs === undefined
      ? []
      : [`note: dockerd was built as version ${event.daemonStampedAs}; to stamp ${event.version}: VERSION=${event.version} npm run make`]),
  ],
  installing: (event) => `installing ${event.packages.join(' ')} with apt-get (as root)`,
  artifact: (event) => `${event.kind.padEnd(10)} ${event.file}  ${(event.size / 1024 / 1024).toFixed(1)} MiB  sha256 ${event.sha256}`,
  lintian: (event) =>
    event.findings.length === 0
      ? `lintian    ${event.file}: clean`
      : [
          `lintian    ${event.file}: ${event.findings.length} finding(s), none an error`,
          ...event.findings.map((finding) => `  ${finding.severity}: ${finding.tag} ${finding.detail}`.trimEnd()),
        ],
  finished: (event) =>
    `${event.artifacts} artifacts in ${event.target} (${event.seconds.toFixed(1)}s)${event.signed ? '; check them with: npm run package -- verify --key cosign.pub' : ''}`,
};

export const releaseVerifyLines: LineFormats<ReleaseVerifyEvent> = {
  target: (event) => `verifying ${event.dir}`,
  check: (event) => (event.ok ? `${event.check}: ok — ${event.detail}` : { stderr: `${event.check}: FAILED — ${event.detail}` }),
};

/** install-check: the base image and engine as `npm run shell` says them, then one line per stage proven. */
export const installCheckLines: LineFormats<ShellEvent | InstallCheckEvent> = {
  ...shellLines,
  container: (event) => `install check in a privileged ${event.image} container on ${event.engine}`,
  stage: (event) => `${event.stage.padEnd(14)} ${event.detail} (${event.seconds.toFixed(1)}s)`,
  finished: (event) => `${event.release} installs, runs and purges cleanly (${event.seconds.toFixed(1)}s)`,
};
