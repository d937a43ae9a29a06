import type { ClientBase } from 'pg';
import { StepFailedError } from './errors';
import type { Step } from './types';

export interface ApplyOptions {
  /** Called before each step runs (print `step.description`, never `step.sql` when sensitive). */
  readonly onStep?: (step: Step, index: number, total: number) => void;
}

/** Consecutive steps that share one transaction, or a single step that must run outside one. */
function batches(steps: readonly Step[]): Step[][] {
  const result: Step[][] = [];
  for (const step of steps) {
    const last = result[result.length - 1];
    if (!step.outsideTransaction && last && !last[0].outsideTransaction) last.push(step);
    else result.push([step]);
  }
  return result;
}

/**
 * Run a plan. Transactional steps run together in one transaction (all or nothing, one commit);
 * slot steps run on their own afterwards, since creating a logical slot waits for every
 * transaction that has written, ours included. Throws StepFailedError naming the failed step.
 */
export async function applyPlan(
  client: ClientBase,
  steps: readonly Step[],
  options: ApplyOptions = {},
): Promise<Step[]> {
  let index = 0;
  const run = async (step: Step): Promise<void> => {
    options.onStep?.(step, index, steps.length);
    index += 1;
    try {
      await client.query(step.sql, step.params ? [...step.params] : undefined);
    } catch (error) {
      throw new StepFailedError(step, error as Error & { code?: string; hint?: string });
    }
  };
  for (const batch of batches(steps)) {
    if (batch[0].outsideTransaction) {
      await run(batch[0]);
      continue;
    }
    await client.query('BEGIN');
    try {
      for (const step of batch) await run(step);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  return [...steps];
}
