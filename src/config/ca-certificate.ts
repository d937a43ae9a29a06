import { readFileSync } from 'fs';
import * as path from 'path';
import { InputError } from '../input-error';

/** The project's root: relative paths in cdk.json (airbyte.caCertificateFile) start here. */
export const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** Where a CA certificate file was named, for the error should it be unreadable. */
export interface CaCertificateSource {
  /** The config key or flag that named the file, as the error should call it. */
  readonly namedBy: string;
  /** What a relative path is resolved against. Default: {@link PROJECT_ROOT}. */
  readonly projectRoot?: string;
}

/**
 * The PEM text of a CA certificate file (a bundle may hold several certificates). A file that
 * cannot be read is an {@link InputError} naming the resolved file and `namedBy`.
 */
export function readCaCertificateFile(file: string, source: CaCertificateSource): string {
  const resolved = path.resolve(source.projectRoot ?? PROJECT_ROOT, file);
  try {
    return readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new InputError(`Cannot read ${source.namedBy} ${resolved}: ${(error as Error).message}`);
  }
}
