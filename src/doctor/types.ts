import type { UpgradePlan } from './upgrade';

/**
 * `pass` ✅, `warn` ⚠️ (works now, but look at it; does not fail the run unless asked),
 * `fail` ❌ (CDC does not work or will break), `skip` ➖ (not applicable here, e.g. RDS-only).
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** A statement of a fix. */
export interface FixStatement {
  /** One statement ending with `;`, identifiers quoted. */
  readonly sql: string;
  /** Run it connected to this database instead of the checked one (dropping a slot made there). */
  readonly database?: string;
}

/** What to do about a failed or warning check. */
export interface Fix {
  /**
   * Statements to run as the master user, in order. A password never appears: a statement that
   * sets one uses the psql variable `:'replication_password'` (see PASSWORD_VARIABLE).
   */
  readonly sql: readonly FixStatement[];
  /** What else to do (a parameter to set, a reboot, a decision only a human can take). */
  readonly notes: readonly string[];
}

/** The outcome of one check. */
export interface CheckResult {
  /** Stable identifier for machines (`wal-level`, `slot-lag`, ...). */
  readonly id: string;
  /** What is checked, e.g. `wal_level = logical`. */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** Present when the status is `fail` or `warn` and something can be done. */
  readonly fix?: Fix;
}

/** Every check of one run, in the order they are printed. */
export interface DoctorReport {
  /** `host:port/database` and the role the doctor connected as. */
  readonly target: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
  };
  readonly checks: readonly CheckResult[];
  /** With `--upgrade-to`: what that upgrade does to the slot, and the steps. */
  readonly upgrade?: UpgradePlan;
}
