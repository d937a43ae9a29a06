import type { EnvironmentConfig } from '../config';
import { buildSourceConfiguration, type AirbyteTarget, type JsonObject } from '../airbyte/bodies';
import { streamedPublicationOf, resolveAirbyteSettings } from '../airbyte/settings';

/** Where a local Airbyte finds the database; secrets are named by the file holding them. */
export interface LocalSourceEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  /**
   * Where a kept server's secrets are. Undefined when the server is removed after the run: its
   * files go with it, so no path to them is printed.
   */
  readonly secretFiles?: {
    /** File holding the replication user's password. */
    readonly password: string;
    /** PEM file of the CA that signed the server certificate. */
    readonly caCertificate: string;
  };
}

/** The Postgres source for the local server: form fields as Airbyte's UI labels them, and JSON. */
export interface LocalAirbyteSource {
  /** `[label, value]` in the order of Airbyte's "create source" form. */
  readonly form: ReadonlyArray<readonly [string, string]>;
  /**
   * The configuration `npm run airbyte` would send, secrets replaced by where to read them (the
   * real values never reach the output).
   */
  readonly configuration: JsonObject;
}

const contentsOf = (file: string): string => `<contents of ${file}>`;

/** Stands in for a secret of a server that is removed after the run, so has no file to name. */
const discarded = (secret: string): string =>
  `<${secret}: removed with the server; run with --keep to keep it in a file>`;

/** The secrets of a Postgres source for the local server, as values. */
export interface LocalSourceSecrets {
  readonly password: string;
  /** PEM of the CA that signed the server certificate. */
  readonly caCertificate: string;
}

/**
 * What `npm run airbyte` would build the Postgres source (CDC) and the connection's streams from,
 * for a local server; SSL is verify-full against the local server's throwaway CA.
 */
export function localAirbyteTarget(
  config: EnvironmentConfig,
  endpoint: Omit<LocalSourceEndpoint, 'secretFiles'>,
  secrets: LocalSourceSecrets,
): AirbyteTarget {
  return {
    settings: { ...resolveAirbyteSettings(config), sslMode: 'verify-full' },
    replication: streamedPublicationOf(config),
    database: {
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      username: endpoint.username,
      password: secrets.password,
    },
    caCertificate: secrets.caCertificate,
  };
}

/**
 * The local source as `npm run local` prints it: the form and the configuration, each secret
 * replaced by the file that holds it (or, for a server not kept, by what it was).
 */
export function localAirbyteSource(
  config: EnvironmentConfig,
  endpoint: LocalSourceEndpoint,
): LocalAirbyteSource {
  const configuration = buildSourceConfiguration(
    localAirbyteTarget(
      config,
      endpoint,
      endpoint.secretFiles
        ? {
            password: contentsOf(endpoint.secretFiles.password),
            caCertificate: contentsOf(endpoint.secretFiles.caCertificate),
          }
        : {
            password: discarded("the replication user's random password"),
            caCertificate: discarded("the local CA's certificate"),
          },
    ),
  );
  const ssl = configuration.ssl_mode as JsonObject;
  const cdc = configuration.replication_method as JsonObject;
  const form: Array<readonly [string, string]> = [
    ['Host', String(configuration.host)],
    ['Port', String(configuration.port)],
    ['Database Name', String(configuration.database)],
    ['Schemas', (configuration.schemas as string[]).join(', ')],
    ['Username', String(configuration.username)],
    ['Password', String(configuration.password)],
    ['SSL Modes', String(ssl.mode)],
    ['CA Certificate', String(ssl.ca_certificate)],
    ['Update Method', 'Read Changes using Write-Ahead Log (CDC)'],
    ['Plugin', String(cdc.plugin)],
    ['Replication Slot', String(cdc.replication_slot)],
    ['Publication', String(cdc.publication)],
    ['LSN commit behaviour', String(cdc.lsn_commit_behaviour)],
    // Under the form's advanced settings; without it a quiet database's slot never advances.
    ...(typeof cdc.heartbeat_action_query === 'string' && cdc.heartbeat_action_query !== ''
      ? [['Debezium heartbeat query (Advanced)', cdc.heartbeat_action_query] as [string, string]]
      : []),
  ];
  return { form, configuration };
}
