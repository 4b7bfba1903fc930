import type { ComponentContext, GoBinary, GoRecipe } from '../../builder/model.js';
import type { GoModulePin } from '../../builder/pins.js';

/** containerd, ctr and the shim come from one module (CONTAINERD_VERSION, CONTAINERD_SRC, ...). */
export const CONTAINERD: GoModulePin = {
  module: 'github.com/containerd/containerd/v2',
  repository: 'https://github.com/containerd/containerd.git',
  release: { version: 'v2.3.4', commit: 'db8809540e1a7a9da5d518876894933ff55692ab', sum: 'h1:c2PJo/9UGVdiiw8SwrxuLxWGY+9b3jQ6Xp9zntneIvI=' },
};

/**
 * containerd's Makefile: tags urfave_cli_no_docs (+ osusergo netgo static_build
 * for STATIC=1, CGO off), and -X version.Version/Revision/Package. The shim is
 * always linked with -extldflags -static.
 */
export function containerdRecipe({ dynamic }: ComponentContext, binaries: GoBinary[]): GoRecipe {
  const pkg = 'github.com/containerd/containerd/v2';
  return {
    kind: 'go',
    binaries,
    cgo: dynamic,
    tags: ['urfave_cli_no_docs', ...(dynamic ? [] : ['osusergo', 'netgo', 'static_build'])],
    ldflags: dynamic ? [] : ['-extldflags -static'],
    stamp: (source) => ({
      [`${pkg}/version.Version`]: source.dirty ? `${source.version}.m` : source.version,
      [`${pkg}/version.Revision`]: `${source.commit ?? 'unknown'}${source.dirty ? '.m' : ''}`,
      [`${pkg}/version.Package`]: pkg,
    }),
  };
}
