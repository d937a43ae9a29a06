import { ConfigError, parseEnvironment, type EnvironmentInput } from '../../src/config';

/**
 * The message parseEnvironment throws for `raw` in environment `name`; fails the test when the
 * configuration is accepted, or refused with anything but a ConfigError.
 */
export function configErrorFor(raw: EnvironmentInput, name = 'dev'): string {
  try {
    parseEnvironment(name, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}
