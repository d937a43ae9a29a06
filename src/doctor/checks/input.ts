import type { DatabaseReference } from '../../contract/database';
import type { CatalogSnapshot, DesiredReplicationState, Step } from '../../replication';
import type { SlotThresholds } from '../../watchdog';
import type { ServerFacts } from '../facts';

/** How the login as the replication user went. */
export type LoginOutcome =
  /** The doctor itself is connected as the replication user. */
  | { readonly kind: 'connected-as-user' }
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'failed'; readonly message: string }
  /** No password to try with. */
  | { readonly kind: 'not-tried' };

/** Everything the checks decide on: plain data, so the checks are pure. */
export interface DoctorInput {
  readonly catalog: CatalogSnapshot;
  readonly facts: ServerFacts;
  readonly desired: DesiredReplicationState;
  /** Where the doctor connected: the host decides whether plain TCP is acceptable. */
  readonly connection: {
    readonly host: string;
    readonly tlsVerified: boolean;
    /** Plain TCP fails the TLS check even to this machine. Default: false. */
    readonly requireTls?: boolean;
  };
  readonly login: LoginOutcome;
  /** Retained WAL above this many bytes is a warning (monitoring.oldestReplicationSlotLagBytes). */
  readonly slotLagWarnBytes: number;
  /**
   * The RDS instance or Aurora cluster, for parameter-group and reboot commands; placeholders
   * are printed when unknown.
   */
  readonly rdsDatabase?: DatabaseReference;
  /**
   * The watchdog's safe WAL fraction and inactivity limit (the keep size is the server's).
   *
   * @default - DEFAULT_SLOT_THRESHOLDS
   */
  readonly slotThresholds?: Omit<SlotThresholds, 'maxSlotWalKeepSizeBytes'>;
}

/**
 * What each check of the tables evaluates: the input, plus the setup's plan for it, made once per
 * run so that every check offers the statements the setup itself would run.
 */
export interface CheckContext extends DoctorInput {
  /** What the setup would still run (see planFixSteps). */
  readonly steps: readonly Step[];
  /** Why the planner refused to plan, when it did: then no statement can be offered. */
  readonly refusal?: string;
}
