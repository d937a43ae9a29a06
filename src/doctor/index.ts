/**
 * `npm run doctor`: is this PostgreSQL ready for Airbyte CDC, and if not, exactly what to run.
 * Checks are pure functions of a catalog snapshot and a few server facts; fixes come from the
 * replication planners.
 */
export * from './types';
export {
  CHECK_IDS,
  evaluateChecks,
  type CheckId,
  type DoctorInput,
  type LoginOutcome,
} from './checks';
export { isLoopbackHost, rdsDatabaseFromHost } from './hosts';
export {
  AURORA_VERSION_SQL,
  readServerFacts,
  type CreatableSchema,
  type ServerFacts,
  type SettingState,
  type StoredColumn,
  type StoredRelation,
  type TableStorage,
  type WritableRelation,
} from './facts';
export { PASSWORD_VARIABLE, planFixSteps, printableSql } from './fixes';
export {
  exitCodeOf,
  formatBytes,
  formatReport,
  reportJson,
  summarize,
  type Summary,
} from './format';
export { runDoctor, type DoctorOptions } from './run';
export {
  formatUpgradePlan,
  planUpgrade,
  readUpgradeFacts,
  serverVersionOf,
  upgradeTargetProblem,
  type PendingChanges,
  type UpgradeFacts,
  type UpgradePlan,
  type UpgradeQuestion,
} from './upgrade';
