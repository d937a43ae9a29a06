import type { CatalogSnapshot, IndexState, QualifiedTable, TableState } from './types';

/** A table as the catalog read it; undefined when the snapshot did not look for it. */
export function tableIn(
  catalog: Pick<CatalogSnapshot, 'tables'>,
  table: QualifiedTable,
): TableState | undefined {
  return catalog.tables[table.schema]?.[table.name];
}

/** The index a table's `{ index }` identity names, as the catalog read it. */
export function identityIndexIn(
  catalog: Pick<CatalogSnapshot, 'identityIndexes'>,
  table: QualifiedTable,
): IndexState | undefined {
  return catalog.identityIndexes?.[table.schema]?.[table.name];
}

/** Whether two references name the same table. */
export const sameTable = (a: QualifiedTable, b: QualifiedTable): boolean =>
  a.schema === b.schema && a.name === b.name;

/**
 * A set of tables by schema and name, without building a key string per table: the planner
 * checks 10,000 tables several times in a no-op run that must take milliseconds.
 */
export class TableSet {
  private readonly bySchema = new Map<string, Set<string>>();
  private count = 0;

  constructor(tables: Iterable<QualifiedTable> = []) {
    for (const table of tables) this.add(table);
  }

  /** Adds the table; false when it was there already. */
  add(table: QualifiedTable): boolean {
    let names = this.bySchema.get(table.schema);
    if (names === undefined) {
      names = new Set();
      this.bySchema.set(table.schema, names);
    }
    if (names.has(table.name)) return false;
    names.add(table.name);
    this.count += 1;
    return true;
  }

  has(table: QualifiedTable): boolean {
    return this.bySchema.get(table.schema)?.has(table.name) ?? false;
  }

  get size(): number {
    return this.count;
  }
}
