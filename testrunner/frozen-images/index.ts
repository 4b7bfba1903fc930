/** The frozen images moby's integration tests need, made without a registry (issue 12). */
export { ensureFrozenImages, FROZEN_IMAGES, FROZEN_IMAGE_EXTRAS, RECIPES, type FrozenImageEvent, type FrozenImagesOptions } from './frozen-images.js';
