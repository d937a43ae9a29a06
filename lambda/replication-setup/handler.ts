import type { RDSClient } from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  CdkCustomResourceEvent,
  CdkCustomResourceIsCompleteEvent,
  CdkCustomResourceIsCompleteResponse,
  CdkCustomResourceResponse,
} from 'aws-lambda';
import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import { readDatabaseSecret } from '../../src/aws/secrets';
import {
  applyPlan,
  assertLogicalReplicationEnabled,
  connect,
  DatabaseConnectionError,
  desiredStateFromConfig,
  planReplicationTeardown,
  readCatalog,
  setupReplication,
  StepFailedError,
  WalLevelError,
  withReplicationLock,
  type CatalogSnapshot,
  type ConnectionFailureReason,
  type DesiredReplicationState,
  type ReplicationTarget,
  type Step,
  type StepKind,
} from '../../src/replication';
import { nextOwner, ownerComment, readOwners, writeOwner, type RoleOwner } from './ownership';
import {
  parsePhysicalId,
  parseProperties,
  physicalIdFor,
  type ReplicationSetupRequest,
} from './properties';
import {
  databaseLabel,
  describeDatabase,
  logicalReplicationFixCommands,
  rebootCommand,
  rebootDatabase,
  type DatabaseStatus,
} from '../../src/aws/rds-database';

export interface ReplicationSetupDependencies {
  readonly rds: RDSClient;
  readonly secretsManager: SecretsManagerClient;
  /** PEM bundle of the CAs the database certificate must chain to (the RDS CAs on Lambda). */
  readonly caBundle: () => string | undefined;
  /** Where progress goes (CloudWatch Logs on Lambda). Never receives a secret. */
  readonly log: (message: string) => void;
  /**
   * Called before each statement of a plan, which waits for a returned promise. A test hook:
   * fault-injection tests end the database session there, as a killed invocation would.
   * Default: none.
   */
  readonly beforeStep?: (step: Step, index: number, total: number) => unknown;
}

/** `Data.Status` while the database reboots; isComplete finishes the job afterwards. */
const REBOOTING = 'rebooting';

/**
 * Why a connection fails while the server is not accepting connections yet: nothing listens
 * (`refused`), or no answer (`timeout`, which includes a host or network not reachable).
 */
const NOT_ACCEPTING_YET: readonly ConnectionFailureReason[] = ['refused', 'timeout'];

/** Teardown steps that concern each object, so a Delete can leave alone what is still in use. */
const SLOT_STEPS: readonly StepKind[] = ['terminate-walsender', 'drop-slot'];
const PUBLICATION_STEPS: readonly StepKind[] = ['drop-publication'];
const MONITORING_ROLE_STEPS: readonly StepKind[] = ['drop-monitoring-role'];

/** What a teardown should drop; the rest is kept. */
interface TeardownSelection {
  readonly slot: boolean;
  readonly publication: boolean;
  readonly user: boolean;
  /** The slot watchdog's role (the target's `monitoringUser`). */
  readonly monitoringRole: boolean;
}

function selectSteps(steps: readonly Step[], selection: TeardownSelection): Step[] {
  return steps.filter((step) => {
    if (SLOT_STEPS.includes(step.kind)) return selection.slot;
    if (PUBLICATION_STEPS.includes(step.kind)) return selection.publication;
    if (MONITORING_ROLE_STEPS.includes(step.kind)) return selection.monitoringRole;
    return selection.user;
  });
}

function targetOf(request: ReplicationSetupRequest): ReplicationTarget {
  return {
    user: request.user,
    slotName: request.slotName,
    publicationName: request.publicationName,
    schema: request.schema,
    ...(request.monitoringUser ? { monitoringUser: { name: request.monitoringUser.name } } : {}),
  };
}

/**
 * The custom resource's lifecycle on top of the replication-setup module: CloudFormation's
 * Create/Update/Delete, the RDS reboot that logical replication may need, replacement on rename,
 * and clean-up of a failed Create (CloudFormation sends no Delete for it).
 */
export class ReplicationSetupHandler {
  constructor(private readonly dependencies: ReplicationSetupDependencies) {}

  async onEvent(event: CdkCustomResourceEvent): Promise<CdkCustomResourceResponse> {
    const request = parseProperties(event.ResourceProperties);
    if (event.RequestType === 'Delete') {
      await this.delete(request, event.PhysicalResourceId);
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const physicalId = physicalIdFor(request);
    const previous =
      event.RequestType === 'Update' ? parseProperties(event.OldResourceProperties) : undefined;
    if (request.existingDatabase) await this.checkExistingDatabase(request);
    return this.withMasterConnection(request, async (client) => {
      try {
        await assertLogicalReplicationEnabled(client);
      } catch (error) {
        if (!(error instanceof WalLevelError)) throw error;
        await this.rebootForLogicalReplication(request, error);
        return { PhysicalResourceId: physicalId, Data: { Status: REBOOTING } };
      }
      await this.setup(client, request, physicalId, previous);
      return { PhysicalResourceId: physicalId, Data: this.attributes(request) };
    });
  }

  async isComplete(
    event: CdkCustomResourceIsCompleteEvent,
  ): Promise<CdkCustomResourceIsCompleteResponse> {
    if (event.RequestType === 'Delete' || event.Data?.Status !== REBOOTING)
      return { IsComplete: true };
    const request = parseProperties(event.ResourceProperties);
    const label = databaseLabel(request.databaseReference);
    const status = await describeDatabase(this.dependencies.rds, request.databaseReference);
    if (!status) throw new Error(`${label} disappeared during its reboot`);
    if (status.status !== 'available' || status.parameterApplyStatus !== 'in-sync') {
      this.dependencies.log(
        `Waiting for ${request.databaseReference.identifier}: status ${status.status}, parameter group ${status.parameterApplyStatus}`,
      );
      return { IsComplete: false };
    }
    const previous =
      event.RequestType === 'Update' ? parseProperties(event.OldResourceProperties) : undefined;
    let client: Client;
    try {
      client = await this.openMasterConnection(request);
    } catch (error) {
      // RDS may call it available a moment before it accepts connections (an Aurora cluster
      // stays available while its writer reboots): not yet. Any other failure (login, TLS,
      // database name, DNS) will not heal by waiting: fail now, with its message.
      if (!(error instanceof DatabaseConnectionError) || !NOT_ACCEPTING_YET.includes(error.reason))
        throw error;
      this.dependencies.log(
        `Waiting for ${request.databaseReference.identifier} to accept connections after its reboot: ${error.message}`,
      );
      return { IsComplete: false };
    }
    try {
      await assertLogicalReplicationEnabled(client);
      await this.setup(client, request, physicalIdFor(request), previous);
    } finally {
      await client.end().catch(() => undefined);
    }
    return { IsComplete: true, Data: this.attributes(request) };
  }

  private attributes(request: ReplicationSetupRequest): Record<string, string> {
    return {
      Status: 'ready',
      SlotName: request.slotName,
      PublicationName: request.publicationName,
      User: request.user,
    };
  }

  private async openMasterConnection(request: ReplicationSetupRequest): Promise<Client> {
    const master = await readDatabaseSecret(
      this.dependencies.secretsManager,
      request.masterSecretArn,
      'master user secret',
    );
    return connect({
      host: request.host,
      port: request.port,
      user: master.username,
      password: master.password,
      database: request.database,
      tls: { mode: 'verify-full', ca: this.dependencies.caBundle() },
    });
  }

  private async withMasterConnection<T>(
    request: ReplicationSetupRequest,
    work: (client: Client) => Promise<T>,
  ): Promise<T> {
    const client = await this.openMasterConnection(request);
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async desiredState(request: ReplicationSetupRequest): Promise<DesiredReplicationState> {
    const password = await this.passwordOf(
      request.replicationUserSecretArn,
      'replication user',
      request.user,
      'replication.user',
    );
    const monitoring = request.monitoringUser;
    if (!monitoring) return desiredStateFromConfig(request, password);
    return desiredStateFromConfig(request, password, {
      monitoringUser: {
        name: monitoring.name,
        password: await this.passwordOf(
          monitoring.secretArn,
          'watchdog user',
          monitoring.name,
          'monitoring.watchdogUser',
        ),
      },
    });
  }

  /** The password in a login's secret, which must hold the configured username. */
  private async passwordOf(
    secretArn: string,
    who: string,
    username: string,
    setting: string,
  ): Promise<string> {
    const secret = await readDatabaseSecret(
      this.dependencies.secretsManager,
      secretArn,
      `${who} secret`,
    );
    if (secret.username !== username) {
      throw new Error(
        `The ${who} secret holds username "${secret.username}" but the configuration says "${username}": they must match (the stack generates the secret for ${setting}).`,
      );
    }
    return secret.password;
  }

  /** Each step logged, then the test hook. */
  private readonly onStep = (step: Step, index: number, total: number): unknown => {
    this.dependencies.log(`[${index + 1}/${total}] ${step.description}`);
    return this.dependencies.beforeStep?.(step, index, total);
  };

  private async setup(
    client: Client,
    request: ReplicationSetupRequest,
    physicalId: string,
    previous: ReplicationSetupRequest | undefined,
  ): Promise<void> {
    const desired = await this.desiredState(request);
    const log = this.dependencies.log;
    // Held from the first catalog read to the last step: no other run plans from a catalog this
    // one is changing, and this run's record of what it made is never another's stale guess.
    await withReplicationLock(client, async () => {
      const before = await readCatalog(client, targetOf(request));
      const owners = await readOwners(client, parsePhysicalId);
      const previousOwner = owners.get(request.user);
      const owner = nextOwner(owners, before, { physicalId, ...request }, parsePhysicalId);
      if (owner.adopted && !previousOwner) {
        log(
          `Role "${request.user}" exists already: configuring it for CDC; it will be kept on delete.`,
        );
      }
      if (before.slot && !owner.createdSlots.includes(request.slotName)) {
        log(`Slot "${request.slotName}" exists already: using it; it will be kept on delete.`);
      }
      if (before.publication && !owner.createdPublications.includes(request.publicationName)) {
        log(
          `Publication "${request.publicationName}" exists already: configuring it; it will be kept on delete.`,
        );
      }
      try {
        const steps = await setupReplication(
          client,
          { ...desired, roleComment: ownerComment(owner) },
          { onStep: this.onStep },
        );
        if (steps.length === 0)
          log('The database already matches the configuration: nothing to do.');
      } catch (error) {
        if (!previous) {
          if (error instanceof StepFailedError && error.connectionLost) {
            // The session (and the lock with it) is gone: clean up on a new one, under the lock.
            await this.withMasterConnection(request, (fresh) =>
              withReplicationLock(fresh, () =>
                this.cleanUpFailedCreate(fresh, request, error, previousOwner),
              ),
            ).catch((cleanupError: Error) =>
              log(`Clean-up after the failed Create failed too: ${cleanupError.message}`),
            );
          } else {
            await this.cleanUpFailedCreate(client, request, error, previousOwner);
          }
        }
        throw error;
      }
      await this.dropStaleMonitoringRoles(client, request, owner);
      if (previous && previous.user !== request.user) {
        // Same resource, new user: the old one would otherwise keep its privileges forever.
        if (owners.get(previous.user)?.adopted) {
          log(`Replication user renamed from "${previous.user}", which existed before: kept.`);
          // Its record now lives on the new user; left here, a later setup of that role would
          // take a slot of the same name for the stack's.
          await writeOwner(client, previous.user, undefined);
        } else {
          log(
            `Replication user renamed from "${previous.user}" to "${request.user}": dropping "${previous.user}"`,
          );
          await this.teardown(client, targetOf(previous), {
            slot: false,
            publication: false,
            user: true,
            monitoringRole: false,
          });
        }
      }
    });
  }

  /**
   * Undo what a failed Create committed (CloudFormation sends no Delete for it): the role,
   * publication and slot this run created, never what another run or the user made. A role that
   * existed before gets its earlier record back. If the process itself dies, the record committed
   * with the objects lets the retry converge.
   */
  private async cleanUpFailedCreate(
    client: Client,
    request: ReplicationSetupRequest,
    error: unknown,
    previousOwner: RoleOwner | undefined,
  ): Promise<void> {
    const log = this.dependencies.log;
    const committed = new Set(
      error instanceof StepFailedError ? error.committed.map((step) => step.kind) : [],
    );
    if (committed.size === 0) {
      log('Create failed before this run committed anything: nothing to remove.');
      return;
    }
    const selection = {
      slot: committed.has('create-slot'),
      publication: committed.has('create-publication'),
      user: committed.has('create-role'),
      monitoringRole: committed.has('create-monitoring-role'),
    };
    log(
      `Create failed; removing what it created (slot: ${selection.slot}, publication: ${selection.publication}, user: ${selection.user}, watchdog role: ${selection.monitoringRole})`,
    );
    try {
      await this.teardown(client, targetOf(request), selection);
      // A role that stays (it existed before) gets its earlier record back.
      if (!selection.user && committed.has('comment-role')) {
        await writeOwner(client, request.user, previousOwner);
      }
    } catch (cleanupError) {
      log(`Clean-up after the failed Create failed too: ${(cleanupError as Error).message}`);
    }
  }

  /**
   * Drop the watchdog roles the stack made that the configuration no longer names (renamed, or
   * the watchdog turned off), and take them off the record. The record listed them when this
   * run's setup committed, so a failure here leaves them findable by the next run.
   */
  private async dropStaleMonitoringRoles(
    client: Client,
    request: ReplicationSetupRequest,
    owner: RoleOwner,
  ): Promise<void> {
    const stale = owner.createdRoles.filter((name) => name !== request.monitoringUser?.name);
    if (stale.length === 0) return;
    for (const name of stale) {
      this.dependencies.log(`Dropping "${name}", the watchdog role of an earlier configuration`);
      await this.teardown(
        client,
        { ...targetOf(request), monitoringUser: { name } },
        { slot: false, publication: false, user: false, monitoringRole: true },
      );
    }
    const record = (await readOwners(client, parsePhysicalId)).get(request.user);
    if (record) {
      await writeOwner(client, request.user, {
        ...record,
        createdRoles: record.createdRoles.filter((name) => !stale.includes(name)),
      });
    }
  }

  /** `catalog`, when given, is the caller's read of `target` under the same lock. */
  private async teardown(
    client: Client,
    target: ReplicationTarget,
    selection: TeardownSelection,
    catalog?: CatalogSnapshot,
  ): Promise<void> {
    catalog ??= await readCatalog(client, target);
    const steps = selectSteps(planReplicationTeardown(catalog, target), selection);
    await applyPlan(client, steps, { onStep: this.onStep });
  }

  private async delete(request: ReplicationSetupRequest, physicalId: string): Promise<void> {
    try {
      await this.withMasterConnection(request, (client) =>
        withReplicationLock(client, async () => {
          const owners = await readOwners(client, parsePhysicalId);
          const record = owners.get(request.user);
          // A replacement's Delete comes after the new resource was created: keep what it uses.
          const others = [...owners.values()]
            .filter((owner) => owner.physicalId !== physicalId)
            .map((owner) => parsePhysicalId(owner.physicalId))
            .filter((owner) => owner?.database === request.database);
          // This resource still manages the user, i.e. this is not the Delete of a replaced one.
          const current = record?.physicalId === physicalId;
          const selection = {
            slot:
              (record?.createdSlots.includes(request.slotName) ?? false) &&
              !others.some((owner) => owner?.slotName === request.slotName),
            publication:
              (record?.createdPublications.includes(request.publicationName) ?? false) &&
              !others.some((owner) => owner?.publicationName === request.publicationName),
            user: current && record !== undefined && !record.adopted,
            monitoringRole:
              current &&
              request.monitoringUser !== undefined &&
              (record?.createdRoles.includes(request.monitoringUser.name) ?? false),
          };
          if (!record) {
            this.dependencies.log(
              `Role "${request.user}" carries no record of this stack: nothing here was made by it, so nothing is dropped.`,
            );
            return;
          }
          if (current && record.adopted) {
            this.dependencies.log(`Keeping role "${request.user}": it existed before this stack.`);
          }
          const dropsAnything =
            selection.slot || selection.publication || selection.user || selection.monitoringRole;
          // One read for the refusal and the teardown: both judge the same slot.
          const catalog = await readCatalog(client, targetOf(request));
          if (request.existingDatabase) {
            // The stack never deletes a database it did not create, so its deletion protection
            // says nothing here; a consumer still reading the slot does.
            if (dropsAnything && !request.dropActiveSlotOnDelete) {
              await this.refuseIfSlotActive(client, request, catalog);
            }
          } else if (current && dropsAnything) {
            // Before dropping anything of a protected instance's pipeline, not only its slot.
            await this.refuseIfDatabaseProtected(request);
          }
          await this.teardown(client, targetOf(request), selection, catalog);
          // Roles an earlier configuration made for the watchdog, should one have outlived it.
          if (current) await this.dropStaleMonitoringRoles(client, request, record);
          if (!selection.user)
            await this.forgetDropped(client, request, record, selection, current);
        }),
      );
    } catch (error) {
      if (!(error instanceof DatabaseConnectionError) || error.reason === 'authentication')
        throw error;
      await this.deleteUnreachable(request, error);
    }
  }

  /**
   * The role stays (it existed before the stack, or a newer resource manages it): its record
   * loses what was just dropped, and an adopted role whose resource is gone loses the record.
   */
  private async forgetDropped(
    client: Client,
    request: ReplicationSetupRequest,
    record: RoleOwner,
    dropped: TeardownSelection,
    current: boolean,
  ): Promise<void> {
    if (current) {
      await writeOwner(client, request.user, undefined);
      return;
    }
    await writeOwner(client, request.user, {
      ...record,
      createdSlots: record.createdSlots.filter(
        (slot) => !(dropped.slot && slot === request.slotName),
      ),
      createdPublications: record.createdPublications.filter(
        (publication) => !(dropped.publication && publication === request.publicationName),
      ),
    });
  }

  /**
   * `cdk destroy` deletes this resource before the database. With deletion protection on, the
   * database would survive but the slot would already be gone, forcing Airbyte into a full
   * resync for nothing: refuse before dropping anything.
   */
  private async refuseIfDatabaseProtected(request: ReplicationSetupRequest): Promise<void> {
    const ref = request.databaseReference;
    const status = await describeDatabase(this.dependencies.rds, ref);
    if (!status?.deletionProtection) return;
    const turnOff =
      ref.kind === 'cluster'
        ? `aws rds modify-db-cluster --db-cluster-identifier ${ref.identifier} --no-deletion-protection --apply-immediately`
        : `aws rds modify-db-instance --db-instance-identifier ${ref.identifier} --no-deletion-protection --apply-immediately`;
    throw new Error(
      `${databaseLabel(ref)} has deletion protection on, so deleting the stack would stop at the ${ref.kind} after the replication slot "${request.slotName}" was dropped (Airbyte would then need a full resync). Nothing was dropped. To delete it, take a final snapshot if you want one, turn protection off (${turnOff}) and retry; to remove only the replication setup from a protected database, do the same and turn protection back on afterwards.`,
    );
  }

  /**
   * An existing database outlives the stack and its Airbyte connection may still be reading the
   * slot: dropping it (and the publication and role) under a running consumer breaks that sync.
   * Refuse, dropping nothing, unless the configuration says to drop it anyway. A slot of that
   * name in another database of the server is not this stack's and is never dropped (see
   * planReplicationTeardown), so its consumer blocks nothing here.
   */
  private async refuseIfSlotActive(
    client: Client,
    request: ReplicationSetupRequest,
    catalog: CatalogSnapshot,
  ): Promise<void> {
    const { slot } = catalog;
    if (!slot?.active || slot.database !== catalog.currentDatabase) return;
    const consumer = await this.consumerOf(client, slot.activePid);
    throw new Error(
      `Replication slot "${request.slotName}" on ${databaseLabel(request.databaseReference)} is in use by ${consumer}. Nothing was dropped: not the slot, the publication "${request.publicationName}" nor the role "${request.user}". Pause or delete the Airbyte connection that reads it (or stop whatever that process is) and retry the deletion; or set database.existing.dropActiveSlotOnDestroy to true to drop them anyway (the consumer is disconnected and must resync).`,
    );
  }

  /** "process 1234 from 10.0.1.5", as far as the server tells. */
  private async consumerOf(client: Client, pid: number | null): Promise<string> {
    if (pid === null) return 'a consumer';
    const { rows } = await client.query<{ client_addr: string | null }>(
      'SELECT client_addr::text AS client_addr FROM pg_stat_activity WHERE pid = $1',
      [pid],
    );
    const address = rows[0]?.client_addr;
    return `process ${pid}${address ? ` from ${address}` : ''}`;
  }

  /**
   * The database did not answer. If the instance is gone or going, so is the slot: succeed. If it
   * stays (retain/snapshot), a slot nobody reads would fill its disk: fail and say what to do.
   */
  private async deleteUnreachable(
    request: ReplicationSetupRequest,
    error: DatabaseConnectionError,
  ): Promise<void> {
    const ref = request.databaseReference;
    const status = await describeDatabase(this.dependencies.rds, ref);
    if (!status || status.status === 'deleting') {
      this.dependencies.log(
        `${ref.identifier} is ${status ? 'being deleted' : 'gone'}: its slot, publication and user go with it.`,
      );
      return;
    }
    const dropSql = `SELECT pg_drop_replication_slot(${escapeLiteral(request.slotName)}); DROP PUBLICATION IF EXISTS ${escapeIdentifier(request.publicationName)};`;
    if (request.existingDatabase) {
      // Never deleted by the stack: it always outlives it, with the slot.
      throw new Error(
        `${error.message} ${databaseLabel(ref)} (status ${status.status}) existed before this stack and outlives it, and an unread replication slot fills its disk with WAL. Make it reachable from the setup function and retry the deletion, or drop what the stack created yourself: ${dropSql} DROP ROLE IF EXISTS ${escapeIdentifier(request.user)}; (the role only if the stack created it), then retry.`,
      );
    }
    if (request.removalPolicy === 'destroy' && !status.deletionProtection) {
      this.dependencies.log(
        `Could not reach ${ref.identifier} (${error.message}); its removal policy is destroy, so the slot goes with the ${ref.kind}.`,
      );
      return;
    }
    const outlives =
      request.removalPolicy === 'snapshot'
        ? 'is deleted after a final snapshot, and every restore of that snapshot would bring the slot back'
        : `is kept after this stack (removal policy ${request.removalPolicy}${status.deletionProtection ? ', deletion protection on' : ''})`;
    throw new Error(
      `${error.message} The ${ref.kind} ${ref.identifier} (status ${status.status}) ${outlives}, and an unread replication slot fills its disk with WAL. Make it reachable and retry the deletion, or drop the slot yourself: ${dropSql} then retry.`,
    );
  }

  /**
   * The database named by `database.existing` must be the engine the reference's APIs describe:
   * fail before connecting, naming the setting, rather than with a confusing SQL error later.
   */
  private async checkExistingDatabase(request: ReplicationSetupRequest): Promise<void> {
    const ref = request.databaseReference;
    const setting =
      ref.kind === 'cluster'
        ? 'database.existing.clusterIdentifier'
        : 'database.existing.instanceIdentifier';
    const status = await describeDatabase(this.dependencies.rds, ref);
    if (!status) {
      const region = process.env.AWS_REGION ?? "the stack's region";
      throw new Error(
        `${databaseLabel(ref)} (${setting}) was not found in ${region}. Check the identifier, and that the stack deploys to the account and region the database is in.`,
      );
    }
    const expected = ref.kind === 'cluster' ? 'aurora-postgresql' : 'postgres';
    if (status.engine !== undefined && status.engine !== expected) {
      const hint =
        ref.kind === 'cluster'
          ? 'only Aurora PostgreSQL clusters are supported (for an RDS for PostgreSQL instance use database.existing.instanceIdentifier)'
          : 'only RDS for PostgreSQL instances are supported (for an Aurora PostgreSQL cluster use database.existing.clusterIdentifier)';
      throw new Error(
        `${setting} names ${databaseLabel(ref)}, whose engine is ${status.engine}, not ${expected}: ${hint}. Nothing was changed.`,
      );
    }
  }

  /**
   * wal_level is not logical: reboot if the parameter group waits for one and config allows it.
   * Runs before any statement of the setup, so a failure here leaves the database untouched.
   */
  private async rebootForLogicalReplication(
    request: ReplicationSetupRequest,
    walLevelError: WalLevelError,
  ): Promise<void> {
    const ref = request.databaseReference;
    const label = databaseLabel(ref);
    const status = await describeDatabase(this.dependencies.rds, ref);
    if (!status) throw new Error(`${walLevelError.message} ${label} was not found.`);
    if (status.parameterApplyStatus !== 'pending-reboot') {
      throw new Error(this.notSetMessage(request, walLevelError, status));
    }
    // An existing cluster is never rebooted by the stack; the configuration refuses the opt-in.
    const mayReboot =
      request.rebootIfPending && !(request.existingDatabase && ref.kind === 'cluster');
    if (!mayReboot) {
      const untouched = request.existingDatabase
        ? ' This stack changed nothing inside the database and does not reboot a database it did not create unless told to.'
        : '';
      const optIn =
        request.existingDatabase && ref.kind === 'cluster'
          ? ''
          : '; or set replication.rebootIfPending to true to let the deploy do it';
      throw new Error(
        `Logical replication is not on yet: parameter group ${status.parameterGroupName} of ${ref.identifier} is pending-reboot. Reboot the ${ref.kind === 'cluster' ? "cluster's writer instance" : 'instance'} (${rebootCommand(ref, status)}), wait until it is available, and deploy again${optIn}.${untouched}`,
      );
    }
    const target =
      ref.kind === 'cluster'
        ? `${status.writerInstanceIdentifier ?? 'the writer'} (writer of ${ref.identifier})`
        : ref.identifier;
    this.dependencies.log(
      `Parameter group ${status.parameterGroupName} is pending-reboot: rebooting ${target}`,
    );
    await rebootDatabase(this.dependencies.rds, ref, status);
  }

  /** wal_level is not logical and the parameter group does not ask for it: what to do. */
  private notSetMessage(
    request: ReplicationSetupRequest,
    walLevelError: WalLevelError,
    status: DatabaseStatus,
  ): string {
    const ref = request.databaseReference;
    const found = `wal_level is "${walLevelError.walLevel}" although parameter group ${status.parameterGroupName} of ${ref.identifier} is ${status.parameterApplyStatus}: the group does not set rds.logical_replication=1.`;
    if (!request.existingDatabase) {
      return `${found} Attach the stack's parameter group (or set the parameter) and deploy again.`;
    }
    const commands = logicalReplicationFixCommands(ref, status)
      .map((command, index) => `  ${index + 1}. ${command}`)
      .join('\n');
    return `${found} This stack changed nothing inside the database, and will not modify or reboot ${databaseLabel(ref)}, which it did not create. Turn logical replication on yourself (the reboot is a short outage), wait until it is available, and deploy again:\n${commands}`;
  }
}
