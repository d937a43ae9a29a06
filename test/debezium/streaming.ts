/**
 * A deployed pipeline with Debezium streaming it: what the conformance suites that look at the
 * events of one table share.
 */
import type { Client } from 'pg';
import { deployPipeline, type Pipeline, type PostgresAccess } from './pipeline';
import {
  createProbeWorkspace,
  startDebezium,
  type ChangeEvent,
  type ProbeProcess,
  type ProbeWorkspace,
} from './probe';

export interface StreamingRun {
  readonly pipeline: Pipeline;
  readonly workspace: ProbeWorkspace;
  readonly debezium: ProbeProcess;
}

/** Deploy with the application's tables made first, start Debezium, wait for its snapshot. */
export async function streamingPipeline(
  pg: PostgresAccess,
  replication: Record<string, unknown>,
  prepare: (master: Client) => Promise<void>,
): Promise<StreamingRun> {
  const pipeline = await deployPipeline(pg, { replication, prepare });
  const workspace = createProbeWorkspace();
  const debezium = startDebezium(
    workspace,
    pipeline.debeziumProperties(workspace),
    pipeline.password,
  );
  // The demo table's two rows end the snapshot (the other tables start empty).
  await debezium.waitFor(
    () => debezium.events.some((event) => event.source.snapshot === 'last'),
    'end of the snapshot',
  );
  return { pipeline, workspace, debezium };
}

/** Stop Debezium, remove its workspace, tear the pipeline down. */
export async function finishStreaming(run: StreamingRun | undefined): Promise<void> {
  if (!run) return;
  await run.debezium.stop().catch(() => run.debezium.kill());
  run.workspace.remove();
  await run.pipeline.teardown();
}

/** Streamed (not snapshot) events of one table. */
export const streamedFrom =
  (table: string) =>
  (event: ChangeEvent): boolean =>
    event.source.table === table && event.source.snapshot === 'false';
