import { escapeLiteral } from 'pg';
import type { Step } from './types';

/**
 * psql variable that stands for the replication user's password in printed statements:
 * `\set replication_password '...'` in psql first, and psql quotes it where `:'replication_password'`
 * appears. The doctor never prints a password or a password verifier.
 */
export const PASSWORD_VARIABLE = 'replication_password';

const PASSWORD_LITERAL = /PASSWORD '[^']*'/;

/**
 * A planner step as a statement a person can paste into psql: bind parameters inlined as quoted
 * literals, a password verifier replaced by the psql variable. Undefined when a sensitive
 * statement has no recognisable password clause (then it is not printed at all).
 */
export function printableSql(step: Step): string | undefined {
  let sql = step.sql;
  const params = step.params ?? [];
  if (params.length > 0) {
    sql = sql.replace(/\$(\d+)/g, (placeholder, index: string) => {
      const value = params[Number(index) - 1];
      return value === undefined ? placeholder : escapeLiteral(String(value));
    });
  }
  if (step.sensitive) {
    if (!PASSWORD_LITERAL.test(sql)) return undefined;
    sql = sql.replace(PASSWORD_LITERAL, `PASSWORD :'${PASSWORD_VARIABLE}'`);
  }
  return sql.trimEnd().endsWith(';') ? sql : `${sql};`;
}
