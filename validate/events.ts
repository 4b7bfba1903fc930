import type { Base } from './tree.js';
import type { CheckName, CheckResult } from './model.js';

export type ValidateEvent =
  | { type: 'validate-tree'; kind: string; version: string; dir: string; base?: Pick<Base, 'commit' | 'ref' | 'how'> }
  | { type: 'validate-planned'; checks: CheckName[] }
  | { type: 'validate-step'; text: string }
  | { type: 'check-started'; check: CheckName }
  | { type: 'check-progress'; check: CheckName; text: string }
  | { type: 'fix-planned'; check: CheckName; files: string[] }
  | { type: 'check-finished'; result: CheckResult }
  | { type: 'validate-summary'; results: CheckResult[]; seconds: number; junit: string; report: string };
