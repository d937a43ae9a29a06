import {
  DEFAULT_EVENT_CATEGORIES,
  eventCategoryIssues,
  monitoringSchema,
  RDS_CLUSTER_EVENT_CATEGORIES,
  RDS_INSTANCE_EVENT_CATEGORIES,
} from '../../../src/config/monitoring';

describe('monitoring event categories', () => {
  it('leaves the categories to the kind of database when not given', () => {
    const parsed = monitoringSchema.parse({});
    expect(parsed.eventCategories).toBeUndefined();
    expect(DEFAULT_EVENT_CATEGORIES).toEqual({
      instance: ['failure', 'failover', 'low storage'],
      cluster: ['failure', 'failover'],
    });
    for (const [kind, categories] of Object.entries(DEFAULT_EVENT_CATEGORIES)) {
      expect(eventCategoryIssues(kind as 'instance' | 'cluster', categories)).toEqual([]);
    }
  });

  it('accepts the categories of either kind in the schema, and no others', () => {
    expect(monitoringSchema.parse({ eventCategories: ['low storage'] }).eventCategories).toEqual([
      'low storage',
    ]);
    const result = monitoringSchema.safeParse({ eventCategories: ['failover', 'fire'] });
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([
      'eventCategories.1',
    ]);
  });

  it('names each category the database’s kind refuses, with its position and the valid ones', () => {
    expect(eventCategoryIssues('cluster', ['failure', 'low storage', 'availability'])).toEqual([
      {
        index: 1,
        message:
          '"low storage" is not an event category of an Aurora DB cluster (db-cluster); valid: "configuration change", "creation", "deletion", "failover", "failure", "maintenance", "notification"',
      },
      expect.objectContaining({
        index: 2,
        message: expect.stringMatching(/^"availability" is not/),
      }),
    ]);
    expect(eventCategoryIssues('instance', [...RDS_INSTANCE_EVENT_CATEGORIES])).toEqual([]);
    expect(eventCategoryIssues('cluster', [...RDS_CLUSTER_EVENT_CATEGORIES])).toEqual([]);
  });
});

describe('monitoring.freeLocalStorageBytes', () => {
  it('defaults to 2 GiB and must be a positive whole number of bytes', () => {
    expect(monitoringSchema.parse({}).freeLocalStorageBytes).toBe(2 * 1024 ** 3);
    expect(monitoringSchema.parse({ freeLocalStorageBytes: 5e9 }).freeLocalStorageBytes).toBe(5e9);
    for (const bad of [0, -1, 1.5, '2GiB']) {
      expect(monitoringSchema.safeParse({ freeLocalStorageBytes: bad }).success).toBe(false);
    }
  });
});
