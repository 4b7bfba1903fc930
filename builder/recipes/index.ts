import { unreachable } from '../../core/errors.js';
import type { ComponentSpec, Recipe, ResolvedSource, StampContext } from '../model.js';
import { cmakeSteps } from './cmake.js';
import { copySteps, goSteps } from './go.js';
import type { Step } from './steps.js';

/** Every step that turns the resolved sources into the component's bundle files. */
export function stepsFor(spec: ComponentSpec, source: ResolvedSource, stampContext: StampContext): Step[] {
  return [...recipeSteps(spec.recipe, source, stampContext), ...copySteps(spec.copies ?? [])];
}

function recipeSteps(recipe: Recipe, source: ResolvedSource, stampContext: StampContext): Step[] {
  switch (recipe.kind) {
    case 'go':
      return goSteps(recipe, source, stampContext);
    case 'cmake':
      return cmakeSteps(recipe, source);
    default:
      return unreachable(recipe);
  }
}
