import { dropStatements, statementsOf } from '../fixes';
import {
  publishesOnlySchema,
  publishesWholeSchema,
  TABLES_IN_SCHEMA_VERSION,
  type QualifiedTable,
} from '../../replication';
import { fail, pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { display, plannedFix, quoted } from './shared';

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
  const schemas = publication.schemas ?? [];
  const wholeSchema = desired.wholeSchema !== undefined;
  if (publishesWholeSchema(catalog, desired)) {
    // FOR TABLES IN SCHEMA: tables created later are published without a deploy.
    return publishesOnlySchema(publication, desired.schema)
      ? pass(`every table in schema ${quoted(desired.schema)} (FOR TABLES IN SCHEMA)`)
      : fail(
          `publishes ${describeContents(publication.tables, schemas)}, not every table in schema ${quoted(desired.schema)} (FOR TABLES IN SCHEMA)`,
          plannedFix(steps, ['set-publication-tables']),
        );
  }
  const wanted = [
    ...new Set([
      ...desired.tables.map((table) => table.name),
      ...(desired.heartbeatTable === undefined ? [] : [desired.heartbeatTable]),
    ]),
  ];
  const listed = publication.tables.map((table) => display(table.schema, table.name));
  const expected = wanted.map((table) => display(desired.schema, table));
  const missing = expected.filter((table) => !listed.includes(table));
  const extra = listed.filter((table) => !expected.includes(table));
  const problems = [
    ...(extra.length > 0 ? [`also lists ${extra.join(', ')}`] : []),
    ...(schemas.length > 0
      ? [`also publishes schema(s) ${schemas.map(quoted).join(', ')} whole`]
      : []),
  ];
  // On 14 the whole schema is the tables that existed at the last setup: a missing one was
  // created since, which is expected there, and waits for the next deploy.
  if (problems.length > 0 || (missing.length > 0 && !wholeSchema)) {
    return fail(
      [...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []), ...problems].join('; '),
      plannedFix(steps, ['set-publication-tables']),
    );
  }
  if (missing.length > 0) {
    return warn(
      `not published: ${missing.join(', ')} (created in schema ${quoted(desired.schema)} since the last deploy; the publication lists the tables that existed then, as FOR TABLES IN SCHEMA ${catalog.serverVersion < TABLES_IN_SCHEMA_VERSION ? `needs PostgreSQL 15 (this is ${Math.floor(catalog.serverVersion / 10000)})` : `needs a superuser, which ${quoted(catalog.currentUser)} is not`})`,
      plannedFix(
        steps,
        ['set-publication-tables'],
        [
          'Deploy again (or run the statement below): the setup publishes every table the schema has at that time. PostgreSQL 15 and later publish new tables by themselves.',
        ],
      ),
    );
  }
  return pass(listed.join(', '));
}

/** What a publication holds, for messages: its schemas and listed tables. */
function describeContents(tables: readonly QualifiedTable[], schemas: readonly string[]): string {
  const parts = [
    ...schemas.map((schema) => `schema ${quoted(schema)}`),
    ...(tables.length > 0 ? [`${tables.length} listed table(s)`] : []),
  ];
  return parts.length > 0 ? parts.join(' and ') : 'no table';
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

/** The publication: present, listing exactly the configured tables, with every operation. */
export const PUBLICATION_CHECKS = [
  {
    id: 'publication-exists',
    title: (input) => `publication ${publicationName(input)} exists`,
    evaluate: publicationExists,
  },
  {
    id: 'publication-tables',
    title: (input) =>
      input.desired.wholeSchema === undefined
        ? `publication ${publicationName(input)} holds exactly the configured tables`
        : `publication ${publicationName(input)} holds every table of schema ${quoted(input.desired.schema)}`,
    evaluate: publicationTables,
  },
  {
    id: 'publication-operations',
    title: (input) =>
      `publication ${publicationName(input)} publishes insert, update, delete and truncate`,
    evaluate: publicationOperations,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
