/** The frozen images moby's integration tests need, made without a registry (issue 12). */
export {
  ensureFrozenImages,
  loadFrozenArchive,
  makeFrozenArchives,
  type FrozenArchive,
  type FrozenArchivesOptions,
  FROZEN_IMAGES,
  FROZEN_IMAGE_EXTRAS,
  RECIPES,
  recipesFor,
  type FrozenImageEvent,
  type FrozenImagesOptions,
} from './frozen-images.js';
