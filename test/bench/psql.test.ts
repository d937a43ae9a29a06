import * as path from 'path';
import { locatePsql } from '../../bench/psql';

const nothingExecutable = (): boolean => false;

describe('locatePsql', () => {
  it('no psql anywhere: skipped, in one line saying why and how to enable it', () => {
    const location = locatePsql(
      { PATH: ['/usr/local/bin', '/usr/bin'].join(path.delimiter) },
      nothingExecutable,
    );
    expect(location).toEqual({
      found: false,
      skipped:
        'Skipping the psql -f baseline: no psql on PATH (the embedded PostgreSQL brings none). To compare against it, install the PostgreSQL client (psql on PATH) or set PSQL=/path/to/psql.',
    });
    if (!location.found) expect(location.skipped).not.toContain('\n');
  });

  it('no PATH at all is no psql, not an error', () => {
    expect(locatePsql({}, nothingExecutable)).toMatchObject({ found: false });
  });

  it('the first psql on PATH', () => {
    const executable = new Set(['/opt/pg/bin/psql', '/usr/bin/psql']);
    const env = { PATH: ['/usr/local/bin', '/opt/pg/bin', '/usr/bin'].join(path.delimiter) };
    expect(locatePsql(env, (file) => executable.has(file))).toEqual({
      found: true,
      psql: '/opt/pg/bin/psql',
    });
  });

  it('$PSQL wins over PATH; one that is not executable is skipped with its name', () => {
    const env = { PSQL: '/opt/pg16/bin/psql', PATH: '/usr/bin' };
    expect(locatePsql(env, () => true)).toEqual({ found: true, psql: '/opt/pg16/bin/psql' });
    expect(locatePsql(env, (file) => file === '/usr/bin/psql')).toEqual({
      found: false,
      skipped: expect.stringMatching(
        /^Skipping the psql -f baseline: PSQL=\/opt\/pg16\/bin\/psql is not an executable file\. /,
      ),
    });
  });
});
