import { buildProbe } from './probe';

/** Build the Debezium probe once before the suites (Maven downloads on the first run). */
export default function globalSetup(): void {
  buildProbe();
}
