import { dropStatements, statementsOf } from '../fixes';
import { fail, pass, skip, type CheckDefinition, type Verdict } from './definition';
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
    ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
    ...(extra.length > 0 ? [`also lists ${extra.join(', ')}`] : []),
  ];
  return problems.length > 0
    ? fail(problems.join('; '), plannedFix(steps, ['set-publication-tables']))
    : pass(listed.join(', '));
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
    title: (input) => `publication ${publicationName(input)} holds exactly the configured tables`,
    evaluate: publicationTables,
  },
  {
    id: 'publication-operations',
    title: (input) =>
      `publication ${publicationName(input)} publishes insert, update, delete and truncate`,
    evaluate: publicationOperations,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
