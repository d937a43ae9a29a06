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
import { describeInstance, rebootCommand, rebootInstance } from '../../src/aws/rds-instance';

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

/** `Data.Status` while the instance reboots; isComplete finishes the job afterwards. */
const REBOOTING = 'rebooting';

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
    const status = await describeInstance(this.dependencies.rds, request.instanceIdentifier);
    if (!status)
      throw new Error(`RDS instance ${request.instanceIdentifier} disappeared during its reboot`);
    if (status.instanceStatus !== 'available' || status.parameterApplyStatus !== 'in-sync') {
      this.dependencies.log(
        `Waiting for ${request.instanceIdentifier}: status ${status.instanceStatus}, parameter group ${status.parameterApplyStatus}`,
      );
      return { IsComplete: false };
    }
    const previous =
      event.RequestType === 'Update' ? parseProperties(event.OldResourceProperties) : undefined;
    await this.withMasterConnection(request, async (client) => {
      await assertLogicalReplicationEnabled(client);
      await this.setup(client, request, physicalIdFor(request), previous);
    });
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

  private async withMasterConnection<T>(
    request: ReplicationSetupRequest,
    work: (client: Client) => Promise<T>,
  ): Promise<T> {
    const master = await readDatabaseSecret(
      this.dependencies.secretsManager,
      request.masterSecretArn,
      'master user secret',
    );
    const client = await connect({
      host: request.host,
      port: request.port,
      user: master.username,
      password: master.password,
      database: request.database,
      tls: { mode: 'verify-full', ca: this.dependencies.caBundle() },
    });
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

  private async teardown(
    client: Client,
    target: ReplicationTarget,
    selection: TeardownSelection,
  ): Promise<void> {
    const catalog = await readCatalog(client, target);
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
          // Before dropping anything of a protected instance's pipeline, not only its slot.
          if (
            current &&
            (selection.slot || selection.publication || selection.user || selection.monitoringRole)
          ) {
            await this.refuseIfInstanceProtected(request);
          }
          await this.teardown(client, targetOf(request), selection);
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
   * `cdk destroy` deletes this resource before the instance. With deletion protection on, the
   * instance would survive but the slot would already be gone, forcing Airbyte into a full
   * resync for nothing: refuse before dropping anything.
   */
  private async refuseIfInstanceProtected(request: ReplicationSetupRequest): Promise<void> {
    const instance = request.instanceIdentifier;
    const status = await describeInstance(this.dependencies.rds, instance);
    if (!status?.deletionProtection) return;
    throw new Error(
      `RDS instance ${instance} has deletion protection on, so deleting the stack would stop at the instance after the replication slot "${request.slotName}" was dropped (Airbyte would then need a full resync). Nothing was dropped. To delete it, take a final snapshot if you want one, turn protection off (aws rds modify-db-instance --db-instance-identifier ${instance} --no-deletion-protection --apply-immediately) and retry; to remove only the replication setup from a protected database, do the same and turn protection back on afterwards.`,
    );
  }

  /**
   * The database did not answer. If the instance is gone or going, so is the slot: succeed. If it
   * stays (retain/snapshot), a slot nobody reads would fill its disk: fail and say what to do.
   */
  private async deleteUnreachable(
    request: ReplicationSetupRequest,
    error: DatabaseConnectionError,
  ): Promise<void> {
    const status = await describeInstance(this.dependencies.rds, request.instanceIdentifier);
    if (!status || status.instanceStatus === 'deleting') {
      this.dependencies.log(
        `${request.instanceIdentifier} is ${status ? 'being deleted' : 'gone'}: its slot, publication and user go with it.`,
      );
      return;
    }
    if (request.removalPolicy === 'destroy' && !status.deletionProtection) {
      this.dependencies.log(
        `Could not reach ${request.instanceIdentifier} (${error.message}); its removal policy is destroy, so the slot goes with the instance.`,
      );
      return;
    }
    const outlives =
      request.removalPolicy === 'snapshot'
        ? 'is deleted after a final snapshot, and every restore of that snapshot would bring the slot back'
        : `is kept after this stack (removal policy ${request.removalPolicy}${status.deletionProtection ? ', deletion protection on' : ''})`;
    throw new Error(
      `${error.message} The instance ${request.instanceIdentifier} (status ${status.instanceStatus}) ${outlives}, and an unread replication slot fills its disk with WAL. Make it reachable and retry the deletion, or drop the slot yourself: SELECT pg_drop_replication_slot(${escapeLiteral(request.slotName)}); DROP PUBLICATION IF EXISTS ${escapeIdentifier(request.publicationName)}; then retry.`,
    );
  }

  /** wal_level is not logical: reboot if the parameter group waits for one and config allows it. */
  private async rebootForLogicalReplication(
    request: ReplicationSetupRequest,
    walLevelError: WalLevelError,
  ): Promise<void> {
    const instance = request.instanceIdentifier;
    const status = await describeInstance(this.dependencies.rds, instance);
    if (!status)
      throw new Error(`${walLevelError.message} RDS instance ${instance} was not found.`);
    if (status.parameterApplyStatus !== 'pending-reboot') {
      throw new Error(
        `wal_level is "${walLevelError.walLevel}" although parameter group ${status.parameterGroupName} of ${instance} is ${status.parameterApplyStatus}: the group does not set rds.logical_replication=1. Attach the stack's parameter group (or set the parameter) and deploy again.`,
      );
    }
    if (!request.rebootIfPending) {
      throw new Error(
        `Logical replication is not on yet: parameter group ${status.parameterGroupName} of ${instance} is pending-reboot. Reboot the instance (${rebootCommand(instance)}), wait until it is available, and deploy again; or set replication.rebootIfPending to true to let the deploy do it.`,
      );
    }
    this.dependencies.log(
      `Parameter group ${status.parameterGroupName} is pending-reboot: rebooting ${instance}`,
    );
    await rebootInstance(this.dependencies.rds, instance);
  }
}
