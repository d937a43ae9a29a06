import type { IConstruct } from 'constructs';

/**
 * A construct was given props it cannot be built from. The message starts with the construct's
 * path, so that an app with several stacks, or several instances of one construct, shows which
 * one to fix.
 */
export class ConstructValidationError extends Error {
  /** Path of the construct that refused its props (`Stack/Construct`). */
  public readonly constructPath: string;

  constructor(scope: IConstruct, message: string) {
    super(`${scope.node.path}: ${message}`);
    this.name = 'ConstructValidationError';
    this.constructPath = scope.node.path;
  }
}

/** The error a construct throws when its props are wrong: `throw constructError(this, '...')`. */
export function constructError(scope: IConstruct, message: string): ConstructValidationError {
  return new ConstructValidationError(scope, message);
}
