import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { environmentSchema } from '../src/config';
import { fieldPaths } from '../src/config/schema-shape';

const ROOT = path.join(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const CONFIGURATION_REFERENCE = path.join(DOCS, 'configuration.md');
/** The README is the newcomer's first hour; everything else is a page under docs/. */
const MAX_README_LINES = 250;
/** Readable in a terminal, code blocks included. */
const MAX_LINE_LENGTH = 200;

function markdownLines(text: string): { text: string; number: number; inCode: boolean }[] {
  let inCode = false;
  return text.split('\n').map((line, index) => {
    const fence = /^\s*(```|~~~)/.test(line);
    const entry = { text: line, number: index + 1, inCode: inCode || fence };
    if (fence) inCode = !inCode;
    return entry;
  });
}

/**
 * The anchor GitHub gives a heading (github-slugger): the rendered text lower-cased, everything
 * but letters, marks, digits, `_`, `-` and spaces dropped, spaces turned into dashes.
 */
function githubSlug(heading: string): string {
  const rendered = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
  return rendered
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings; a repeated slug gets `-1`, `-2`, ... as on GitHub. */
function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of markdownLines(text)) {
    const heading = line.inCode ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line.text);
    if (!heading) continue;
    const slug = githubSlug(heading[1]);
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

/** Targets of the inline links and images outside code (`[text](target)`), with their line. */
function linkTargets(text: string): { target: string; line: number }[] {
  return markdownLines(text)
    .filter((line) => !line.inCode)
    .flatMap((line) =>
      [
        ...line.text.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
      ].map((match) => ({ target: match[1], line: line.number })),
    );
}

/** Why each relative link of `file` leads nowhere: a missing file, or a missing heading. */
function brokenLinks(file: string, text: string): string[] {
  return linkTargets(text).flatMap(({ target, line }) => {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return []; // https:, mailto: ...
    const [targetPath, anchor] = target.split('#', 2);
    const resolved = targetPath ? path.resolve(path.dirname(file), targetPath) : file;
    const where = `${path.relative(ROOT, file)}:${line} → ${target}`;
    if (!existsSync(resolved)) return [`${where}: no such file`];
    if (anchor === undefined || statSync(resolved).isDirectory()) return [];
    if (!resolved.endsWith('.md')) return [`${where}: an anchor into a file that is not Markdown`];
    return headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)
      ? []
      : [`${where}: no heading with that anchor`];
  });
}

const readme = readFileSync(README, 'utf8');
const docPages = readdirSync(DOCS)
  .filter((name) => name.endsWith('.md'))
  .map((name) => path.join(DOCS, name));
const markdownFiles = [README, ...docPages].map((file) => ({
  file,
  text: readFileSync(file, 'utf8'),
}));

describe('README.md and docs/', () => {
  it('documents every configuration field in docs/configuration.md', () => {
    const reference = existsSync(CONFIGURATION_REFERENCE)
      ? readFileSync(CONFIGURATION_REFERENCE, 'utf8')
      : '';
    const leaves = fieldPaths(environmentSchema).filter(
      (field, _index, all) => !all.some((other) => other.startsWith(`${field}.`)),
    );
    expect(leaves.length).toBeGreaterThan(30);
    expect(leaves.filter((field) => !reference.includes(`\`${field}\``))).toEqual([]);
  });

  it(`keeps the README to ${MAX_README_LINES} lines`, () => {
    const lineCount = readme.replace(/\n$/, '').split('\n').length;
    expect(lineCount).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it(`has no line over ${MAX_LINE_LENGTH} characters, code blocks included`, () => {
    const longLines = markdownFiles.flatMap(({ file, text }) =>
      markdownLines(text)
        .filter((line) => [...line.text].length > MAX_LINE_LENGTH)
        .map((line) => `${path.relative(ROOT, file)}:${line.number} (${[...line.text].length})`),
    );
    expect(longLines).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    expect(markdownFiles.flatMap(({ file, text }) => brokenLinks(file, text))).toEqual([]);
  });

  it('draws what a deploy creates and bootstraps before the first deploy', () => {
    expect(readme).toMatch(/^```mermaid$/m);
    const bootstrap = readme.indexOf('cdk bootstrap');
    const firstDeploy = readme.indexOf('cdk deploy');
    expect(bootstrap).toBeGreaterThanOrEqual(0);
    expect(firstDeploy).toBeGreaterThan(bootstrap);
  });

  it('leads the quick start with npm ci, the main job and the test command that CI runs', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const commands = [...quickStart.matchAll(/^(npm|npx) [^\n#]*/gm)].map((match) =>
      match[0].trim(),
    );
    expect(commands.slice(0, 3)).toEqual(['npm ci', 'npm run local', 'npm test']);
    const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
  });
});

describe('githubSlug', () => {
  it('turns headings into the anchors GitHub gives them', () => {
    expect(githubSlug('npm run local')).toBe('npm-run-local');
    expect(githubSlug('Synth diff for pull requests: `npm run diff`')).toBe(
      'synth-diff-for-pull-requests-npm-run-diff',
    );
    expect(githubSlug('Properties: what is mirrored from Airbyte, and why')).toBe(
      'properties-what-is-mirrored-from-airbyte-and-why',
    );
    expect(githubSlug('PostgreSQL 14 to 18')).toBe('postgresql-14-to-18');
    expect(githubSlug('Broken preconditions (`preconditions.test.ts`)')).toBe(
      'broken-preconditions-preconditionstestts',
    );
  });

  it('numbers repeated headings and ignores headings inside code blocks', () => {
    const anchors = headingAnchors('# Tests\n\n```sh\n# not a heading\n```\n\n## Tests\n');
    expect([...anchors]).toEqual(['tests', 'tests-1']);
  });
});
