/**
 * What the slot watchdog function is told through its environment: the names here are the
 * contract between the construct that sets them and the function that reads them.
 */
export const WATCHDOG_VARIABLES = {
  host: 'WATCHDOG_DB_HOST',
  port: 'WATCHDOG_DB_PORT',
  database: 'WATCHDOG_DB_NAME',
  slotName: 'WATCHDOG_SLOT_NAME',
  /** Secret (username, password) of the monitoring role the watchdog logs in as. */
  secretArn: 'WATCHDOG_SECRET_ARN',
  /** Value of the `Environment` dimension, e.g. `dev`. */
  environment: 'WATCHDOG_ENVIRONMENT',
  /** Default: WATCHDOG_NAMESPACE. */
  namespace: 'WATCHDOG_NAMESPACE',
} as const;

export interface WatchdogSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly slotName: string;
  readonly secretArn: string;
  readonly environment: string;
  readonly namespace?: string;
}

/** The settings from `env`; a missing or malformed variable names itself. */
export function watchdogSettingsFrom(
  env: Readonly<Record<string, string | undefined>>,
): WatchdogSettings {
  const required = (key: Exclude<keyof typeof WATCHDOG_VARIABLES, 'namespace'>): string => {
    const value = env[WATCHDOG_VARIABLES[key]];
    if (!value) throw new Error(`The slot watchdog needs ${WATCHDOG_VARIABLES[key]} set`);
    return value;
  };
  const port = Number(required('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${WATCHDOG_VARIABLES.port} is not a port number: ${required('port')}`);
  }
  const namespace = env[WATCHDOG_VARIABLES.namespace];
  return {
    host: required('host'),
    port,
    database: required('database'),
    slotName: required('slotName'),
    secretArn: required('secretArn'),
    environment: required('environment'),
    ...(namespace ? { namespace } : {}),
  };
}
