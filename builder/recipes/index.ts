import { unreachable } from '../../core/errors.js';
import type { Platform } from '../../core/platform.js';
import type { ComponentSpec, Recipe, ResolvedSource, StampContext } from '../model.js';
import { cmakeSteps } from './cmake.js';
import { copySteps, goSteps } from './go.js';
import type { Step } from './steps.js';

/** Every step that turns the resolved sources into the component's bundle files; `cross` is the target when it is not this machine. */
export function stepsFor(spec: ComponentSpec, source: ResolvedSource, stampContext: StampContext, cross?: Platform): Step[] {
  return [...recipeSteps(spec.recipe, source, stampContext, cross), ...copySteps(spec.copies ?? [])];
}

function recipeSteps(recipe: Recipe, source: ResolvedSource, stampContext: StampContext, cross: Platform | undefined): Step[] {
  switch (recipe.kind) {
    case 'go':
      return goSteps(recipe, source, stampContext, cross);
    case 'cmake':
      return cmakeSteps(recipe, source, cross);
    default:
      return unreachable(recipe);
  }
}
