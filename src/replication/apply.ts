import type { ClientBase } from 'pg';
import { StepFailedError } from './errors';
import type { Step } from './types';

export interface ApplyOptions {
  /**
   * Called before each step runs (print `step.description`, never `step.sql` when sensitive).
   * The step waits for a returned promise: fault-injection tests end the session there.
   */
  readonly onStep?: (step: Step, index: number, total: number) => unknown;
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
 * transaction that has written, ours included. Throws StepFailedError naming the failed step and
 * the steps committed before it.
 */
export async function applyPlan(
  client: ClientBase,
  steps: readonly Step[],
  options: ApplyOptions = {},
): Promise<Step[]> {
  const committed: Step[] = [];
  let index = 0;
  const run = async (step: Step, sql: string, params?: readonly unknown[]): Promise<void> => {
    try {
      await client.query(sql, params ? [...params] : undefined);
    } catch (error) {
      throw new StepFailedError(step, error as Error & { code?: string; hint?: string }, [
        ...committed,
      ]);
    }
  };
  const announce = async (step: Step): Promise<void> => {
    await options.onStep?.(step, index, steps.length);
    index += 1;
  };
  for (const batch of batches(steps)) {
    if (batch[0].outsideTransaction) {
      await announce(batch[0]);
      await run(batch[0], batch[0].sql, batch[0].params);
      committed.push(batch[0]);
      continue;
    }
    const last = batch[batch.length - 1];
    await run(batch[0], 'BEGIN');
    try {
      for (const step of batch) {
        await announce(step);
        await run(step, step.sql, step.params);
      }
      // A failed COMMIT is the last step's failure: nothing of the batch is committed.
      await run(last, 'COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    committed.push(...batch);
  }
  return [...steps];
}
