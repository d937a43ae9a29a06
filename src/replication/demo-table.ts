/** The tutorial's demo table (replication.createDemoTable). */
export const DEMO_TABLE_NAME = 'data_tbl';
