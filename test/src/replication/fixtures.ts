import type { ClientBase, ClientConfig } from 'pg';
import {
  isChangeMessage,
  openChangeStream,
  type ChangeMessage,
  type Message,
} from '../../../src/local/change-stream';
import type { DesiredReplicationState, RoleState, SlotState } from '../../../src/replication';
import { uniqueName } from '../../support/postgres';

/** The slot as a completed setup leaves it, nobody streaming it. */
export const SET_UP_SLOT: SlotState = {
  plugin: 'pgoutput',
  slotType: 'logical',
  database: 'app',
  active: false,
  activePid: null,
  confirmedFlushLsn: '0/1',
  walStatus: 'reserved',
  safeWalSizeBytes: null,
  confirmedLagBytes: 0,
  retainedBytes: 0,
};

/** The replication user as a completed setup leaves it. */
export const SET_UP_ROLE: RoleState = {
  canLogin: true,
  replication: true,
  superuser: false,
  memberOfRdsReplication: false,
  passwordCurrent: true,
  schemasWithoutUsage: [],
  relationsWithoutSelect: [],
  schemasWithoutDefaultSelect: [],
  heartbeatWriteGranted: false,
  ownedObjects: 0,
  currentUserHasPrivileges: false,
  defaultPrivilegeGrantors: [{ grantor: 'master', schema: 'datastore', objectType: 'r' }],
};

/** The tutorial's desired state with the tutorial's own names, for tests that need no server. */
export const TUTORIAL_STATE: DesiredReplicationState = {
  schema: 'datastore',
  schemas: [{ name: 'datastore' }],
  tables: [{ schema: 'datastore', name: 'data_tbl', replicaIdentity: 'default' }],
  user: 'airbyte',
  password: 'first-Secret-1',
  slotName: 'airbyte_slot',
  publicationName: 'airbyte_publication',
  createDemoTable: true,
};

/** The steps the setup plans for TUTORIAL_STATE on an empty plain-PostgreSQL database. */
export const TUTORIAL_SETUP_STEPS = [
  'create-schema',
  'create-demo-table',
  'create-role',
  'grant-schema-usage',
  'grant-select',
  'grant-default-select',
  'grant-replication-attribute',
  'create-publication',
  'create-slot',
] as const;

/**
 * The steps for TUTORIAL_STATE on an empty database of the server version `serverVersion`
 * (`server_version_num`): before 15, CREATE on "public" is revoked from PUBLIC too.
 */
export function tutorialSetupSteps(serverVersion: number): readonly string[] {
  if (serverVersion >= 150000) return TUTORIAL_SETUP_STEPS;
  const beforePublication = TUTORIAL_SETUP_STEPS.indexOf('create-publication');
  return [
    ...TUTORIAL_SETUP_STEPS.slice(0, beforePublication),
    'revoke-public-create',
    ...TUTORIAL_SETUP_STEPS.slice(beforePublication),
  ];
}

/** The server's `server_version_num`, e.g. 170010. */
export async function serverVersionOf(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ version: number }>(
    "SELECT current_setting('server_version_num')::int AS version",
  );
  return rows[0].version;
}

/**
 * The tutorial's desired state with cluster-unique role and slot names (roles and slots are
 * shared by every database of the test server; schema and publication live in the database).
 * A `schema` override is the one published schema, the tutorial's table in it.
 */
export function tutorialState(
  overrides: Partial<DesiredReplicationState> = {},
): DesiredReplicationState {
  // Another first schema moves the tutorial's table with it, unless the tables are given too.
  const schema = overrides.schema ?? TUTORIAL_STATE.schema;
  return {
    ...TUTORIAL_STATE,
    user: uniqueName('airbyte'),
    slotName: uniqueName('airbyte_slot'),
    schemas: [{ name: schema }],
    tables: TUTORIAL_STATE.tables.map((table) => ({ ...table, schema })),
    ...overrides,
  };
}

/** A pgoutput stream of a slot, collecting every message. */
export interface SlotStream {
  readonly messages: readonly Message[];
  /** Resolves with the change messages once `count` arrived (rejects after `timeoutMs`). */
  waitForChanges(count: number, timeoutMs?: number): Promise<ChangeMessage[]>;
  stop(): Promise<void>;
}

/** Stream `slotName` over a replication connection (what Debezium does), as `config`'s user. */
export async function streamSlot(
  config: ClientConfig,
  slotName: string,
  publicationName: string,
): Promise<SlotStream> {
  const stream = await openChangeStream({
    connection: config,
    slot: { name: slotName },
    publicationName,
  });
  return {
    messages: stream.messages,
    waitForChanges: async (count, timeoutMs) => {
      await stream.waitForChanges(count, timeoutMs);
      return stream.messages.filter(isChangeMessage);
    },
    stop: () => stream.stop(),
  };
}

/** Stream the desired state's slot as its replication user, the way Airbyte connects. */
export function streamAsReplicationUser(
  config: ClientConfig,
  desired: DesiredReplicationState,
): Promise<SlotStream> {
  return streamSlot(
    { ...config, user: desired.user, password: desired.password },
    desired.slotName,
    desired.publicationName,
  );
}
