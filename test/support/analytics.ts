/**
 * cdk.json's `analytics` environment, the example of several schemas: the application tables its
 * replication section names, as a test database needs them before the setup runs.
 */

/**
 * "sales": `orders`, the partitioned `measurements` (partitions `_eu` and `_us`), `events`
 * identified by its unique index `events_code_key`, and `refunds`, which the environment does not
 * publish; "crm", published whole: `customers` and `notes`.
 */
export const ANALYTICS_TABLES_SQL = `
  CREATE SCHEMA sales;
  CREATE SCHEMA crm;
  CREATE TABLE sales.orders (id bigint PRIMARY KEY, amount numeric);
  CREATE TABLE sales.measurements (id bigint, region text, reading numeric, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
  CREATE TABLE sales.measurements_eu PARTITION OF sales.measurements FOR VALUES IN ('eu');
  CREATE TABLE sales.measurements_us PARTITION OF sales.measurements FOR VALUES IN ('us');
  CREATE TABLE sales.events (code text NOT NULL, payload text);
  CREATE UNIQUE INDEX events_code_key ON sales.events (code);
  CREATE TABLE sales.refunds (id bigint PRIMARY KEY);
  CREATE TABLE crm.customers (id bigint PRIMARY KEY, name text);
  CREATE TABLE crm.notes (id bigint PRIMARY KEY, body text);`;
