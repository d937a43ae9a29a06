import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type { Message } from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput.types';
import type { ClientConfig } from 'pg';
import type { DesiredReplicationState } from '../../../src/replication';
import { uniqueName } from '../../support/postgres';

/**
 * The tutorial's desired state with cluster-unique role and slot names (roles and slots are
 * shared by every database of the test server; schema and publication live in the database).
 */
export function tutorialState(
  overrides: Partial<DesiredReplicationState> = {},
): DesiredReplicationState {
  return {
    schema: 'datastore',
    tables: [{ name: 'data_tbl', replicaIdentity: 'default' }],
    user: uniqueName('airbyte'),
    password: 'first-Secret-1',
    slotName: uniqueName('airbyte_slot'),
    publicationName: 'airbyte_publication',
    createDemoTable: true,
    ...overrides,
  };
}

/** A pgoutput stream of a slot, collecting every change message. */
export interface ChangeStream {
  readonly messages: Message[];
  /** Resolves once `count` insert/update/delete messages arrived (rejects after `timeoutMs`). */
  waitForChanges(count: number, timeoutMs?: number): Promise<Message[]>;
  stop(): Promise<void>;
}

const isChange = (message: Message): boolean =>
  message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete';

/** Stream `slotName` over a replication connection (what Debezium does), as `config`'s user. */
export async function streamSlot(
  config: ClientConfig,
  slotName: string,
  publicationName: string,
): Promise<ChangeStream> {
  const service = new LogicalReplicationService(
    { ...config, replication: 'database' } as ClientConfig,
    { acknowledge: { auto: true, timeoutSeconds: 0 } },
  );
  const messages: Message[] = [];
  let failure: Error | undefined;
  service.on('data', (_lsn: string, message: Message) => {
    messages.push(message);
  });
  service.on('error', (error: Error) => {
    failure = error;
  });
  const started = new Promise<void>((resolve) => service.on('start', () => resolve()));
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publicationName] });
  const subscription = service.subscribe(plugin, slotName).catch((error: Error) => {
    failure = error;
  });
  await Promise.race([started, subscription]);
  if (failure) throw failure;
  return {
    messages,
    waitForChanges: async (count, timeoutMs = 10000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (failure) throw failure;
        const changes = messages.filter(isChange);
        if (changes.length >= count) return changes;
        if (Date.now() > deadline) {
          throw new Error(
            `expected ${count} change(s), got ${changes.length}: ${JSON.stringify(changes.map((m) => m.tag))}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop: async () => {
      await service.stop();
      await subscription;
    },
  };
}
