import type { CheckResult, CheckStatus, FixStatement } from '../types';

/** What a check found: its result without the id and title, which its table entry holds. */
export interface Verdict {
  readonly status: CheckStatus;
  readonly detail: string;
  /** Reported only with `fail` or `warn`, and only when it holds a statement or a note. */
  readonly fix?: { readonly sql?: readonly FixStatement[]; readonly notes?: readonly string[] };
}

/** One check: the single place that names it, titles it and decides it. */
export interface CheckDefinition<Input, Id extends string = string> {
  readonly id: Id;
  /** A function where the title names something configured (a user, a table). */
  readonly title: string | ((input: Input) => string);
  /** Undefined when the check does not apply to this configuration: it is then not reported. */
  readonly evaluate: (input: Input) => Verdict | undefined;
}

/** The ids of `checks`, in their order, as a tuple of literal types. */
export type IdsOf<Checks extends readonly { readonly id: string }[]> = {
  readonly [Index in keyof Checks]: Checks[Index]['id'];
};

/**
 * The ids of a table of checks (`as const satisfies readonly CheckDefinition<...>[]`), typed as
 * the tuple they are, so that the ids of every table together make the CheckId union.
 */
export function idsOf<const Checks extends readonly { readonly id: string }[]>(
  checks: Checks,
): IdsOf<Checks> {
  // map() types its result as a plain array: IdsOf states the tuple it really is.
  return checks.map((check) => check.id) as IdsOf<Checks>;
}

/** All is well: `detail` says what was found. */
export const pass = (detail: string): Verdict => ({ status: 'pass', detail });
/** Not applicable here (e.g. RDS-only), or nothing to look at: `detail` says why. */
export const skip = (detail: string): Verdict => ({ status: 'skip', detail });
/** Works now, but look at it. */
export const warn = (detail: string, fix?: Verdict['fix']): Verdict => ({
  status: 'warn',
  detail,
  fix,
});
/** CDC does not work, or will break. */
export const fail = (detail: string, fix?: Verdict['fix']): Verdict => ({
  status: 'fail',
  detail,
  fix,
});

/** The reported result of `check` for `verdict`. */
export function resultOf<Input>(
  check: CheckDefinition<Input>,
  input: Input,
  verdict: Verdict,
): CheckResult {
  const { status, detail } = verdict;
  const sql = verdict.fix?.sql ?? [];
  const notes = verdict.fix?.notes ?? [];
  const withFix = (status === 'fail' || status === 'warn') && sql.length + notes.length > 0;
  return {
    id: check.id,
    title: typeof check.title === 'string' ? check.title : check.title(input),
    status,
    detail,
    ...(withFix ? { fix: { sql, notes } } : {}),
  };
}

/** Every check of `checks` that applies to `input`, in order. */
export function evaluateAll<Input>(
  checks: readonly CheckDefinition<Input>[],
  input: Input,
): CheckResult[] {
  return checks.flatMap((check) => {
    const verdict = check.evaluate(input);
    return verdict === undefined ? [] : [resultOf(check, input, verdict)];
  });
}
