import type { Client, ClientConfig } from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import type {
  Message,
  MessageBegin,
  MessageDelete,
  MessageInsert,
  MessageUpdate,
} from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput.types';
import { SLOT_PLUGIN } from '../replication';

export type { Message };

/** An insert, update or delete as pgoutput sends it. */
export type ChangeMessage = MessageInsert | MessageUpdate | MessageDelete;

/** One captured row change, ready to print as a JSON line. */
export interface CapturedChange {
  readonly op: ChangeMessage['tag'];
  readonly schema: string;
  readonly table: string;
  /** LSN of the change's WAL record (`%X/%X`, as PostgreSQL prints it). */
  readonly lsn: string;
  /** When the change's transaction committed: ISO 8601, UTC, microseconds. */
  readonly commitTime: string;
  /**
   * The old row as the WAL holds it: with REPLICA IDENTITY DEFAULT only the primary key, and for
   * an update only when the key changed (else null); with FULL the whole old row. Null for inserts.
   */
  readonly before: Record<string, unknown> | null;
  /** The new row; null for deletes. */
  readonly after: Record<string, unknown> | null;
}

/** Which slot to stream. */
export interface SlotToStream {
  readonly name: string;
  /**
   * Create the slot on the streaming connection itself, dropped when it closes: it sees changes
   * made after the stream started without moving any other slot (what `npm run local` uses so
   * that the real slot keeps every change for Airbyte). Default: false, stream an existing slot,
   * confirming (consuming) its position as a real consumer does.
   */
  readonly temporary?: boolean;
}

export interface ChangeStreamOptions {
  /**
   * Connection settings of a role with the REPLICATION attribute or `rds_replication` (TLS as the
   * caller configured it). Statement and query timeouts are dropped: the stream runs until stopped.
   */
  readonly connection: ClientConfig;
  readonly slot: SlotToStream;
  /** Publication whose tables pgoutput sends. */
  readonly publicationName: string;
  /** Called for each change as it arrives. */
  readonly onChange?: (change: CapturedChange) => void;
  /**
   * How long stop() waits for the server to end the stream and close the connection before it
   * drops the connection and rejects. Only a server that hangs (or a frozen one) gets there.
   * Default: 10 000.
   */
  readonly stopTimeoutMs?: number;
}

/** A running pgoutput stream. */
export interface ChangeStream {
  /** Every pgoutput message received so far (begin, relation, changes, commit), in order. */
  readonly messages: readonly Message[];
  /** The inserts, updates and deletes received so far, in order. */
  readonly changes: readonly CapturedChange[];
  /**
   * Resolves with the changes once at least `count` arrived; rejects after `timeoutMs` (default
   * 10 000) with what did arrive, or when the stream fails.
   */
  waitForChanges(count: number, timeoutMs?: number): Promise<CapturedChange[]>;
  /**
   * End the stream and close the connection; resolves once the server's WAL sender has exited,
   * so its max_wal_senders place is free and a temporary slot is gone. Rejects when the server
   * did not get there within `stopTimeoutMs` (the connection is dropped then). Safe to call twice.
   */
  stop(): Promise<void>;
}

export function isChangeMessage(message: Message): message is ChangeMessage {
  return message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete';
}

/** A string literal for the replication command grammar, which knows no E'' strings. */
function replicationLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * pgoutput that quotes the publication name (the library splices it raw) and can first create
 * a temporary slot on the same connection, the only connection that may use it.
 */
class SlotPlugin extends PgoutputPlugin {
  /** The replication connection, once the service hands it over to start streaming. */
  client: Client | undefined;

  constructor(
    publicationName: string,
    private readonly slot: SlotToStream,
  ) {
    super({ protoVersion: 1, publicationNames: [publicationName] });
  }

  async start(client: Client, slotName: string, lastLsn: string): Promise<unknown> {
    this.client = client;
    const slot = client.escapeIdentifier(slotName);
    if (this.slot.temporary) {
      // NOEXPORT_SNAPSHOT: the stream needs no snapshot, and the old spelling works on 14+.
      await client.query(
        `CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL ${SLOT_PLUGIN} NOEXPORT_SNAPSHOT`,
      );
    }
    const publications = replicationLiteral(
      this.options.publicationNames.map((name) => client.escapeIdentifier(name)).join(','),
    );
    return client.query(
      `START_REPLICATION SLOT ${slot} LOGICAL ${lastLsn} (proto_version '${this.options.protoVersion}', publication_names ${publications})`,
    );
  }
}

/** The protocol's CopyDone message: type 'c', length 4 (the length field itself), no body. */
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

/** A working server ends a stream in milliseconds: this only bounds one that hangs. */
const DEFAULT_STOP_TIMEOUT_MS = 10000;

/** Microseconds since the Unix epoch as ISO 8601 with all six fractional digits. */
export function isoFromMicroseconds(microseconds: bigint): string {
  const milliseconds = Number(microseconds / 1000n);
  const extra = String(microseconds % 1000n).padStart(3, '0');
  return new Date(milliseconds).toISOString().replace('Z', `${extra}Z`);
}

/** A plain copy of a pgoutput tuple (the parser builds key tuples without a prototype). */
function row(tuple: Record<string, unknown> | null): Record<string, unknown> | null {
  return tuple === null ? null : { ...tuple };
}

/** The JSON-ready form of a change, given its LSN and its transaction's BEGIN. */
export function toCapturedChange(
  message: ChangeMessage,
  lsn: string,
  begin: Pick<MessageBegin, 'commitTime'>,
): CapturedChange {
  const common = {
    op: message.tag,
    schema: message.relation.schema,
    table: message.relation.name,
    lsn,
    commitTime: isoFromMicroseconds(begin.commitTime as bigint),
  };
  switch (message.tag) {
    case 'insert':
      return { ...common, before: null, after: row(message.new) };
    case 'update':
      return { ...common, before: row(message.old ?? message.key), after: row(message.new) };
    case 'delete':
      return { ...common, before: row(message.old ?? message.key), after: null };
  }
}

/**
 * Stream a slot over a replication connection with pgoutput, as Airbyte's Debezium does. Resolves
 * once the server has started streaming: changes committed after that are seen.
 */
export async function openChangeStream(options: ChangeStreamOptions): Promise<ChangeStream> {
  const service = new LogicalReplicationService(
    {
      ...options.connection,
      replication: 'database',
      statement_timeout: undefined,
      query_timeout: undefined,
    } as ClientConfig,
    // Acknowledged below rather than automatically: once stop() has sent CopyDone, the server
    // takes any further message but Terminate as a protocol violation.
    { acknowledge: { auto: false, timeoutSeconds: 0 } },
  );
  const messages: Message[] = [];
  const changes: CapturedChange[] = [];
  const listeners = new Set<() => void>();
  let failure: Error | undefined;
  let begin: MessageBegin | undefined;
  let ending = false;
  const notify = (): void => listeners.forEach((listener) => listener());

  service.on('data', (lsn: string, message: Message) => {
    messages.push(message);
    if (message.tag === 'begin') begin = message;
    if (isChangeMessage(message)) {
      // pgoutput (without streaming) always sends BEGIN before a transaction's changes.
      const change = toCapturedChange(message, lsn, begin ?? { commitTime: 0n });
      changes.push(change);
      options.onChange?.(change);
    }
    // Confirm as a real consumer does, as the automatic acknowledgement would.
    if (!ending) void service.acknowledge(lsn);
    notify();
  });
  const fail = (error: Error): void => {
    failure ??= error;
    notify();
  };
  service.on('error', fail);
  const started = new Promise<void>((resolve) => service.on('start', () => resolve()));
  const plugin = new SlotPlugin(options.publicationName, options.slot);
  // START_REPLICATION runs until the stream ends: it settles when stop() ends it or it fails.
  let streaming = true;
  const subscription = service
    .subscribe(plugin, options.slot.name)
    .then(() => undefined, fail)
    .finally(() => (streaming = false));
  await Promise.race([started, subscription]);
  if (failure) {
    // No command runs any more: the library's end() sends Terminate and waits for the server to
    // close the connection (at once when the connection is what failed).
    await service.stop().catch(() => undefined);
    throw failure;
  }

  /**
   * End the stream the way the protocol does, so that the server, not this side, closes the
   * connection. pg's end() alone would destroy the socket under the running START_REPLICATION
   * and resolve at once, while the WAL sender lives on until it notices: a new replication
   * connection then finds every max_wal_senders place taken, and a temporary slot still there.
   */
  const endStream = async (): Promise<void> => {
    const socket = plugin.client?.connection.stream;
    if (streaming && socket?.writable) {
      ending = true;
      // The WAL sender answers CopyDone with CopyDone, then ends START_REPLICATION normally.
      socket.write(COPY_DONE);
    }
    await subscription;
    // No command runs now, so end() sends Terminate and resolves when the server closes the
    // socket, which a backend does only as its process exits: after it has given up its WAL
    // sender place and dropped a temporary slot.
    await service.stop();
  };

  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const stopWithin = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(() => resolve('timed out'), stopTimeoutMs);
    });
    const ended = endStream();
    try {
      if ((await Promise.race([ended, timedOut])) !== 'timed out') return;
    } finally {
      clearTimeout(timer);
    }
    // The server answers neither CopyDone nor Terminate: drop the connection, which settles
    // endStream, and say that the WAL sender may still be there.
    plugin.client?.connection.stream.destroy();
    await ended.catch(() => undefined);
    throw new Error(
      `The server did not close the replication connection of slot "${options.slot.name}" within ${stopTimeoutMs} ms of stop(): its WAL sender may still hold a max_wal_senders place (and a temporary slot)`,
    );
  };

  let stopping: Promise<void> | undefined;
  return {
    messages,
    changes,
    waitForChanges: (count, timeoutMs = 10000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (failure) finish(() => reject(failure));
          else if (changes.length >= count) finish(() => resolve([...changes]));
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `Expected ${count} change(s) within ${timeoutMs} ms, got ${changes.length}: ${JSON.stringify(changes.map((change) => change.op))}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    stop: () => (stopping ??= stopWithin()),
  };
}
