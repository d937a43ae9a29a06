import { z } from 'zod';

/** Alarms, dashboard and notifications. Filled in by the operations work. */
export const monitoringSchema = z.strictObject({}).prefault({});

export type MonitoringConfig = z.infer<typeof monitoringSchema>;
