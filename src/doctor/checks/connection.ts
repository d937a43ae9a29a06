import type { CheckResult } from '../types';
import { fail, pass, resultOf, type CheckDefinition } from './definition';

/** How connecting to the database went: the check every other one depends on. */
export interface ConnectionAttempt {
  /** Where the doctor connected, and as whom. */
  readonly target: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
  };
  /** Why the connection failed; undefined when it succeeded. */
  readonly error?: string;
}

/** The first check, made by runDoctor itself: nothing else is checked without a connection. */
export const CONNECTION_CHECK = {
  id: 'connection',
  title: ({ target }) =>
    `connect to ${target.host}:${target.port}/${target.database} as "${target.user}"`,
  evaluate: ({ error }) =>
    error === undefined
      ? pass('connected')
      : fail(error, { notes: ['Nothing else could be checked: fix the connection first.'] }),
} as const satisfies CheckDefinition<ConnectionAttempt>;

/** The `connection` check's result for `attempt`. */
export function connectionResult(attempt: ConnectionAttempt): CheckResult {
  return resultOf(CONNECTION_CHECK, attempt, CONNECTION_CHECK.evaluate(attempt));
}
