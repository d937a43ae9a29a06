import { dropStatements, statementsOf } from '../fixes';
import {
  publicationHolds,
  publicationObjects,
  TABLES_IN_SCHEMA_VERSION,
  TableSet,
  type QualifiedTable,
} from '../../replication';
import { fail, pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { displayName, plannedFix, quoted, schemasNamed } from './shared';

function publicationExists({ catalog, steps }: CheckContext): Verdict {
  if (catalog.publication) return pass('yes');
  return fail(
    'no such publication',
    plannedFix(
      steps,
      ['create-publication'],
      // The planner leaves the publication out when it would name no table.
      steps.some((step) => step.kind === 'create-publication')
        ? []
        : ['None of the configured tables exists: create them first (see "tables").'],
    ),
  );
}

const named = (tables: readonly QualifiedTable[]): string =>
  tables.map((table) => displayName(table.schema, table.name)).join(', ');

/** What a publication holds, for messages: its schemas and listed tables. */
function describeContents(tables: readonly QualifiedTable[], schemas: readonly string[]): string {
  const parts = [
    ...schemas.map((schema) => `schema ${quoted(schema)}`),
    ...(tables.length > 0 ? [`${tables.length} listed table(s)`] : []),
  ];
  return parts.length > 0 ? parts.join(' and ') : 'no table';
}

function publicationTables({ catalog, desired, steps }: CheckContext): Verdict {
  const publication = catalog.publication;
  if (!publication) {
    return fail('no such publication', {
      notes: ['Create the publication first (see "publication-exists").'],
    });
  }
  if (publication.allTables) {
    return fail('it is FOR ALL TABLES (publishes every table, cannot be narrowed)', {
      sql: [
        ...dropStatements(catalog, desired, 'publication'),
        ...statementsOf(steps, ['create-publication']),
      ],
      notes: [
        `Dropping ${quoted(desired.publicationName)} interrupts whatever else reads it until it is re-created; or choose another replication.publicationName.`,
      ],
    });
  }
  const wanted = publicationObjects(catalog, desired);
  const currentSchemas = publication.schemas ?? [];
  if (publicationHolds(publication, wanted)) {
    // FOR TABLES IN SCHEMA: tables created later are published without a deploy.
    return pass(
      [
        ...(wanted.schemas.length > 0
          ? [`every table in ${schemasNamed(wanted.schemas)} (FOR TABLES IN SCHEMA)`]
          : []),
        // In config order: the catalog lists the publication's tables in no particular order.
        ...(wanted.tables.length > 0 ? [named(wanted.tables)] : []),
      ].join(', '),
    );
  }
  const wantedSchemas = new Set(wanted.schemas);
  const wantedTables = new TableSet(wanted.tables);
  const listedTables = new TableSet(publication.tables);
  const inWantedSchema = (table: QualifiedTable): boolean => wantedSchemas.has(table.schema);
  const missing = wanted.tables.filter((table) => !listedTables.has(table));
  const extra = publication.tables.filter(
    (table) => !wantedTables.has(table) && !inWantedSchema(table),
  );
  const extraSchemas = currentSchemas.filter((schema) => !wantedSchemas.has(schema));
  // With only whole schemas wanted, whatever else the publication holds is told as what it
  // publishes instead of them.
  const onlyWholeSchemas = wanted.schemas.length > 0 && wanted.tables.length === 0;
  const wholeSchemasDiffer =
    wanted.schemas.length > 0 &&
    (extraSchemas.length > 0 ||
      wanted.schemas.some((schema) => !currentSchemas.includes(schema)) ||
      publication.tables.some(inWantedSchema) ||
      (onlyWholeSchemas && extra.length > 0));
  // Whole schemas the publication lists the tables of (PostgreSQL 14, or not a superuser): a
  // table missing there was created since the last setup, which is expected, and waits for the
  // next deploy.
  const wholeAsList = new Set(
    desired.schemas
      .filter((schema) => schema.wholeSchema !== undefined && !wantedSchemas.has(schema.name))
      .map((schema) => schema.name),
  );
  const createdSince = missing.filter((table) => wholeAsList.has(table.schema));
  const problems = [
    ...(wholeSchemasDiffer
      ? [
          `publishes ${describeContents(publication.tables, currentSchemas)}, not every table in ${schemasNamed(wanted.schemas)} (FOR TABLES IN SCHEMA)`,
        ]
      : []),
    ...(extra.length > 0 && !onlyWholeSchemas ? [`also lists ${named(extra)}`] : []),
    ...(extraSchemas.length > 0 && wanted.schemas.length === 0
      ? [`also publishes schema(s) ${extraSchemas.map(quoted).join(', ')} whole`]
      : []),
  ];
  if (problems.length > 0 || missing.length > createdSince.length) {
    return fail(
      [...(missing.length > 0 ? [`missing ${named(missing)}`] : []), ...problems].join('; '),
      plannedFix(steps, ['set-publication-tables']),
    );
  }
  const createdIn = desired.schemas
    .map((schema) => schema.name)
    .filter((schema) => createdSince.some((table) => table.schema === schema));
  return warn(
    `not published: ${named(createdSince)} (created in ${schemasNamed(createdIn)} since the last deploy; the publication lists the tables that existed then, as FOR TABLES IN SCHEMA ${catalog.serverVersion < TABLES_IN_SCHEMA_VERSION ? `needs PostgreSQL 15 (this is ${Math.floor(catalog.serverVersion / 10000)})` : `needs a superuser, which ${quoted(catalog.currentUser)} is not`})`,
    plannedFix(
      steps,
      ['set-publication-tables'],
      [
        `Deploy again (or run the statement below): the setup publishes every table ${createdIn.length === 1 ? 'the schema has' : 'these schemas have'} at that time. PostgreSQL 15 and later publish new tables by themselves.`,
      ],
    ),
  );
}

function publicationOperations({ catalog, steps }: CheckContext): Verdict {
  const publication = catalog.publication;
  if (!publication) return skip('no such publication');
  if (publication.publishesAllOperations) return pass('yes');
  return fail(
    'some operations are not published (their changes never reach Airbyte)',
    plannedFix(steps, ['set-publication-operations']),
  );
}

const publicationName = ({ desired }: CheckContext): string => quoted(desired.publicationName);

/** What the configuration publishes, for the title: whole schemas and listed tables. */
function expectedContents({ desired }: CheckContext): string {
  const whole = desired.schemas.filter((schema) => schema.wholeSchema !== undefined);
  const listed = desired.schemas.filter((schema) => schema.wholeSchema === undefined);
  const wholePart = `every table of ${schemasNamed(whole.map((schema) => schema.name))}`;
  if (whole.length === 0) return 'exactly the configured tables';
  if (listed.length === 0) return wholePart;
  return `${wholePart} and the configured tables of ${schemasNamed(listed.map((schema) => schema.name))}`;
}

/** The publication: present, listing exactly the configured tables, with every operation. */
export const PUBLICATION_CHECKS = [
  {
    id: 'publication-exists',
    title: (input) => `publication ${publicationName(input)} exists`,
    evaluate: publicationExists,
  },
  {
    id: 'publication-tables',
    title: (input) => `publication ${publicationName(input)} holds ${expectedContents(input)}`,
    evaluate: publicationTables,
  },
  {
    id: 'publication-operations',
    title: (input) =>
      `publication ${publicationName(input)} publishes insert, update, delete and truncate`,
    evaluate: publicationOperations,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
