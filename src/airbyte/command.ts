import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EnvironmentConfig } from '../config';
import { PRIVATE_HOST } from '../config/airbyte';
import { DeployedStack } from '../aws/deployed-stack';
import { InputError } from '../input-error';
import { applyAirbyte, destroyAirbyte, planAirbyte, type PlanResult } from './apply';
import type { AirbyteTarget } from './bodies';
import { AirbyteClient, type AirbyteAuth, LOCAL_AIRBYTE_API_URL } from './client';
import {
  AIRBYTE_ENV,
  airbyteCredentialsFromEnv,
  readAirbyteCredentialsSecret,
} from './credentials';
import { type AirbyteSettings, resolveAirbyteSettings } from './settings';
import { assembleAirbyteTarget, type DatabaseOverride } from './target';

/**
 * `npm run airbyte` without its command line: the Airbyte source, destination and connection of
 * an environment, for an Airbyte the stack does not manage (e.g. on a laptop).
 */

/** `plan` prints the requests apply would send; `apply` sends them; `destroy` deletes all three. */
export type AirbyteCommand = 'plan' | 'apply' | 'destroy';

/** One run of a command, as the flags give it. */
export interface AirbyteCommandRequest extends DatabaseOverride {
  readonly command: AirbyteCommand;
  /** Airbyte public API. Default: $AIRBYTE_API_URL, airbyte.apiUrl, the local abctl one. */
  readonly apiUrl?: string;
  /** Default: $AIRBYTE_WORKSPACE_ID, airbyte.workspaceId, the only workspace there is. */
  readonly workspaceId?: string;
  /** Re-send passwords and keys even if nothing else changed (after a rotation). */
  readonly refreshSecrets: boolean;
}

/** The process around a command. */
export interface AirbyteCommandContext {
  /** Airbyte credentials, the API URL and workspace, and passwords named by flags. */
  readonly env: NodeJS.ProcessEnv;
  /** What airbyte.caCertificateFile is relative to. Default: the project's root. */
  readonly projectRoot?: string;
  /** Warnings, notes and the Airbyte client's progress, a line each, as they happen. */
  readonly log: (line: string) => void;
}

/** What a command reports once done. */
export interface AirbyteCommandOutcome {
  /** The result, printed as JSON. */
  readonly report: Readonly<Record<string, unknown>>;
  /** To print after the report, e.g. what destroy leaves in place. */
  readonly notes: readonly string[];
}

const NO_CREDENTIALS = `No Airbyte credentials: set ${AIRBYTE_ENV.clientId} and ${AIRBYTE_ENV.clientSecret} (abctl local credentials, or Settings > Applications in Airbyte), or ${AIRBYTE_ENV.token}, or airbyte.credentialsSecret in cdk.json`;

/**
 * Run plan, apply or destroy for one environment. `plan` works offline: what it cannot read
 * (the stack, its secrets, Airbyte) is logged and replaced by placeholders.
 */
export async function runAirbyteCommand(
  request: AirbyteCommandRequest,
  config: EnvironmentConfig,
  context: AirbyteCommandContext,
): Promise<AirbyteCommandOutcome> {
  const { env, log } = context;
  const settings = resolveAirbyteSettings(config);
  // Only cdk.json's region is forced; otherwise the AWS SDK picks (AWS_REGION, the profile).
  const stack = new DeployedStack(config.name, config.region);
  const apiUrl =
    request.apiUrl ?? env[AIRBYTE_ENV.apiUrl] ?? settings.apiUrl ?? LOCAL_AIRBYTE_API_URL;
  const workspaceId = request.workspaceId ?? env[AIRBYTE_ENV.workspaceId] ?? settings.workspaceId;
  warnOfPlainHttp(apiUrl, log);
  const lenient = request.command === 'plan';
  let auth: AirbyteAuth | undefined;
  try {
    auth = await airbyteAuth(settings, env, stack.secretsManager);
  } catch (error) {
    if (!lenient) throw error;
    log(`Airbyte credentials: ${(error as Error).message}`);
  }
  const client = auth ? new AirbyteClient({ apiUrl, auth, log }) : undefined;
  const reportOf = (result: object) => ({ environment: config.name, apiUrl, ...result });

  if (request.command === 'plan') {
    const target = await assembleTarget(request, settings, config, stack, context);
    const plan = await planAgainstAirbyte(target, client, request, workspaceId, log);
    const { source, destination, connection } = plan;
    const report = reportOf({
      workspaceId: plan.workspaceId ?? null,
      source,
      destination,
      connection,
    });
    return { report, notes: [] };
  }
  if (!client) throw new InputError(NO_CREDENTIALS);
  if (request.command === 'destroy') {
    const result = await destroyAirbyte(settings, client, { workspaceId, log });
    return { report: reportOf(result), notes: result.notes };
  }
  const target = await assembleTarget(request, settings, config, stack, context);
  const { refreshSecrets } = request;
  const result = await applyAirbyte(target, client, { workspaceId, refreshSecrets, log });
  return { report: reportOf(result), notes: [] };
}

/** Credentials from the environment first, else from airbyte.credentialsSecret. */
async function airbyteAuth(
  settings: AirbyteSettings,
  env: NodeJS.ProcessEnv,
  secretsManager: SecretsManagerClient,
): Promise<AirbyteAuth | undefined> {
  const fromEnv = airbyteCredentialsFromEnv(env);
  if (fromEnv) return fromEnv;
  if (settings.credentialsSecret)
    return readAirbyteCredentialsSecret(secretsManager, settings.credentialsSecret);
  return undefined;
}

function warnOfPlainHttp(apiUrl: string, log: (line: string) => void): void {
  const { protocol, hostname } = new URL(apiUrl);
  if (protocol === 'http:' && !PRIVATE_HOST.test(hostname)) {
    log(
      `Warning: ${apiUrl} is plain http on a public address; the Airbyte credentials cross the network unencrypted. Put Airbyte behind https.`,
    );
  }
}

/** The target, its notes logged before anything is sent, so they stand above the progress. */
async function assembleTarget(
  request: AirbyteCommandRequest,
  settings: AirbyteSettings,
  config: EnvironmentConfig,
  stack: DeployedStack,
  { env, projectRoot, log }: AirbyteCommandContext,
): Promise<AirbyteTarget> {
  const lenient = request.command === 'plan';
  const sources = { config, settings, stack, env, projectRoot, lenient };
  const { target, notes } = await assembleAirbyteTarget(request, sources);
  notes.forEach((note) => log(`Note: ${note}`));
  return target;
}

/** Compared with Airbyte when it can be reached, else the requests alone. */
async function planAgainstAirbyte(
  target: AirbyteTarget,
  client: AirbyteClient | undefined,
  { refreshSecrets }: AirbyteCommandRequest,
  workspaceId: string | undefined,
  log: (line: string) => void,
): Promise<PlanResult> {
  if (client) {
    try {
      return await planAirbyte(target, client, { workspaceId, refreshSecrets });
    } catch (error) {
      log(
        `Note: could not compare with Airbyte (${(error as Error).message.split('\n')[0]}); showing the requests only.`,
      );
    }
  } else {
    log(
      `Note: no Airbyte credentials, so the plan does not say what exists already (set ${AIRBYTE_ENV.clientId}/${AIRBYTE_ENV.clientSecret} or ${AIRBYTE_ENV.token}).`,
    );
  }
  return planAirbyte(target, undefined, { workspaceId });
}
