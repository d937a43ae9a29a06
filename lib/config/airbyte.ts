import { z } from 'zod';

/** Airbyte wiring (source, destination, connection). Filled in by the Airbyte-as-code work. */
export const airbyteSchema = z.strictObject({}).prefault({});

export type AirbyteConfig = z.infer<typeof airbyteSchema>;
