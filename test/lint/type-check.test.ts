import { readFileSync } from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const readJson = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;

const scripts = readJson('package.json').scripts as Record<string, string>;
const compilerOptions = readJson('tsconfig.json').compilerOptions as Record<string, unknown>;

describe('type checking', () => {
  it('is not done by npm test: ts-jest only transpiles, as tsconfig sets isolatedModules', () => {
    // Were this to change, jest would type-check every file again (and npm test take longer).
    expect(compilerOptions.isolatedModules).toBe(true);
  });

  it('is done by npm run lint, which CI runs before npm test', () => {
    expect(scripts.build).toBe('tsc --noEmit');
    expect(scripts.lint.split(' && ')).toContain('npm run build');
    const ciSteps = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    expect(ciSteps).toMatch(/^npm run lint$/m);
  });
});
