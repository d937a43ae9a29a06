import type { AirbyteSettings, StreamedPublication } from '../../src/airbyte/settings';
import {
  airbyteReplicationSchema,
  airbyteResourcePropertiesSchema,
  airbyteSettingsSchema,
  type AirbyteResourceProperties,
} from '../../src/contract/airbyte-connection';
import { parseJsonProperty, parseResourceProperties } from '../../src/contract/properties';

/** How the contract's messages name this resource. */
const RESOURCE = 'Airbyte';

/** The properties, with their JSON decoded and checked. */
export interface AirbyteConnectionRequest {
  readonly properties: AirbyteResourceProperties;
  readonly settings: AirbyteSettings;
  readonly replication: StreamedPublication;
}

/**
 * The resolved Airbyte settings from a `Settings` property. Their names and destination type are
 * checked here; the rest was validated with the whole configuration at synth and passes as it is.
 */
export function parseSettings(text: string): AirbyteSettings {
  const checked = parseJsonProperty(RESOURCE, 'Settings', text, airbyteSettingsSchema);
  // Only what names the Airbyte resources is re-checked: the full shape is the config schema's
  // (zod, too large for this bundle), applied when the stack was synthesized.
  return checked as unknown as AirbyteSettings;
}

/** Parse what CloudFormation sent with the contract the construct writes; names what is wrong. */
export function parseAirbyteProperties(raw: Record<string, unknown>): AirbyteConnectionRequest {
  const properties = parseResourceProperties(RESOURCE, airbyteResourcePropertiesSchema, raw);
  return {
    properties,
    settings: parseSettings(properties.Settings),
    replication: parseJsonProperty(
      RESOURCE,
      'Replication',
      properties.Replication,
      airbyteReplicationSchema,
    ),
  };
}
