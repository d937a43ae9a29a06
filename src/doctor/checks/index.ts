/**
 * The doctor's checks, composed in print order from one table per family. Each table entry is
 * the one place that names, titles and decides its check: CHECK_IDS and CheckId derive from them.
 */
import type { CheckResult } from '../types';
import { safePlanFixSteps } from '../fixes';
import { CONNECTION_CHECK } from './connection';
import { evaluateAll, idsOf } from './definition';
import type { DoctorInput } from './input';
import { PUBLICATION_CHECKS } from './publication';
import { SERVER_CHECKS } from './server';
import { SLOT_CHECKS } from './slot';
import { TABLE_CHECKS } from './tables';
import { TOAST_CHECKS } from './toast';
import { USER_CHECKS } from './user';

export { connectionResult, type ConnectionAttempt } from './connection';
export type { DoctorInput, LoginOutcome } from './input';

/** The checks evaluateChecks makes, in print order (after `connection`, which runDoctor makes). */
const EVALUATED_CHECKS = [
  ...SERVER_CHECKS,
  ...TABLE_CHECKS,
  ...TOAST_CHECKS,
  ...USER_CHECKS,
  ...PUBLICATION_CHECKS,
  ...SLOT_CHECKS,
] as const;

/** Checks in print order; each id appears once. */
export const CHECK_IDS = idsOf([CONNECTION_CHECK, ...EVALUATED_CHECKS]);

/** The id of one check. */
export type CheckId = (typeof CHECK_IDS)[number];

/**
 * Every check, in print order. Pure: the same input gives the same results. Fix statements come
 * from the replication planners wherever the setup would run them.
 */
export function evaluateChecks(input: DoctorInput): CheckResult[] {
  const { steps, refusal } = safePlanFixSteps(input.catalog, input.desired);
  return evaluateAll(EVALUATED_CHECKS, { ...input, steps, refusal });
}
