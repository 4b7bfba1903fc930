import type { ComponentSpec, ResolvedSource, StampContext } from '../model.js';
import { cmakeSteps } from './cmake.js';
import { copySteps, goSteps } from './go.js';
import type { Step } from './steps.js';

/** Every step that turns the resolved sources into the component's bundle files. */
export function stepsFor(spec: ComponentSpec, source: ResolvedSource, stampContext: StampContext): Step[] {
  const recipe = spec.recipe;
  const build = recipe.kind === 'go' ? goSteps(recipe, source, stampContext) : cmakeSteps(recipe, source);
  return [...build, ...copySteps(spec.copies ?? [])];
}
