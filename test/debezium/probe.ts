/**
 * The TypeScript side of the Debezium probe (the Maven module beside this file): builds it,
 * starts Debezium's embedded PostgreSQL connector in a JVM with the properties Airbyte's source
 * would use, and reads the probe's reports (one JSON object a line on its stdout).
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { createInterface } from 'readline';

/** The Maven module: pom.xml and the probe's Java sources. */
export const PROBE_MODULE_DIR = __dirname;
const TARGET_DIR = path.join(PROBE_MODULE_DIR, 'target');
const CLASSPATH_FILE = path.join(TARGET_DIR, 'classpath.txt');
/** Written after a successful build: Maven leaves unchanged outputs with their old times. */
const BUILT_STAMP = path.join(TARGET_DIR, 'probe-built.stamp');
const MAIN_CLASS = 'cdcprobe.DebeziumProbe';
/** The oldest Java that Debezium 3 runs on. */
const MINIMUM_JAVA_MAJOR = 17;
/** Must match DebeziumProbe.PASSWORD_VARIABLE. */
const PASSWORD_VARIABLE = 'PROBE_DATABASE_PASSWORD';

/** Java or Maven is missing or too old; says what to install. */
export class ProbeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeSetupError';
  }
}

/** `$JAVA_HOME/bin/<tool>` when JAVA_HOME is set, else the tool on PATH. */
function javaTool(tool: string): string {
  const home = process.env.JAVA_HOME;
  return home ? path.join(home, 'bin', tool) : tool;
}

/** The major version `java -version` reports, e.g. 17 for "17.0.15" (1.8 style gives 8). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** Throws ProbeSetupError unless a JDK 17+ and Maven are installed. */
export function assertJavaToolchain(): void {
  const java = spawnSync(javaTool('java'), ['-version'], { encoding: 'utf8' });
  if (java.error) {
    throw new ProbeSetupError(
      `npm run test:debezium needs a JDK ${MINIMUM_JAVA_MAJOR}+ ("${javaTool('java')}" not found): install one (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`,
    );
  }
  const major = parseJavaMajor(`${java.stderr}${java.stdout}`);
  if (major === undefined || major < MINIMUM_JAVA_MAJOR) {
    throw new ProbeSetupError(
      `npm run test:debezium needs Java ${MINIMUM_JAVA_MAJOR}+ (Debezium 3), but "${javaTool('java')} -version" says ${java.stderr.split('\n')[0]}: install a newer JDK or point JAVA_HOME at one.`,
    );
  }
  const maven = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (maven.error) {
    throw new ProbeSetupError(
      'npm run test:debezium builds its Debezium probe with Maven 3.8+ ("mvn" not found): install it (e.g. apt-get install maven).',
    );
  }
}

function newestModification(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const location = path.join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? newestModification(location) : statSync(location).mtimeMs,
    );
  }
  return newest;
}

/** The probe was built after the last change to pom.xml or a source file. */
function probeIsCurrent(): boolean {
  if (!existsSync(CLASSPATH_FILE) || !existsSync(BUILT_STAMP)) return false;
  const sources = Math.max(
    statSync(path.join(PROBE_MODULE_DIR, 'pom.xml')).mtimeMs,
    newestModification(path.join(PROBE_MODULE_DIR, 'src')),
  );
  return statSync(BUILT_STAMP).mtimeMs >= sources;
}

/**
 * Build the probe with Maven unless it is current. Maven's own output (on the first run, every
 * artifact it downloads from Maven Central) goes to stderr, so a long first build shows progress.
 */
export function buildProbe(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  assertJavaToolchain();
  if (probeIsCurrent()) return;
  log(
    `Building the Debezium probe (${path.relative(process.cwd(), PROBE_MODULE_DIR) || '.'}/pom.xml) with Maven; the first build downloads Debezium, Kafka Connect and Maven's plugins (about 50 MB) into ~/.m2.`,
  );
  const build = spawnSync(
    'mvn',
    ['-B', '-Dstyle.color=never', '-f', path.join(PROBE_MODULE_DIR, 'pom.xml'), 'package'],
    {
      stdio: ['ignore', process.stderr, process.stderr],
    },
  );
  if (build.status !== 0) {
    throw new ProbeSetupError(
      `Building the Debezium probe failed (mvn exited with ${build.status ?? build.signal}); Maven's output above says why.`,
    );
  }
  writeFileSync(BUILT_STAMP, `${new Date().toISOString()}\n`);
}

function probeClasspath(): string {
  return [path.join(TARGET_DIR, 'classes'), readFileSync(CLASSPATH_FILE, 'utf8').trim()].join(
    path.delimiter,
  );
}

/** A change event as the probe reports it (Debezium's envelope, values as JSON). */
export interface ChangeEvent {
  readonly type: 'event';
  /** c (insert), u (update), d (delete), r (snapshot read). */
  readonly op: 'c' | 'u' | 'd' | 'r' | 't' | 'm';
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly source: {
    readonly lsn: number | null;
    readonly schema: string;
    readonly table: string;
    /** `true`, `first`, `last`, ... during the snapshot; `false` while streaming. */
    readonly snapshot: string;
    readonly txId?: number | null;
    readonly [field: string]: unknown;
  };
}

export interface HeartbeatReport {
  readonly type: 'heartbeat';
  readonly lsn?: number;
}
export interface ProgressReport {
  readonly type: 'progress';
  readonly events: number;
  readonly elapsedMs: number;
}
export interface StoppedReport {
  readonly type: 'stopped';
  readonly events: number;
  /** Milliseconds from engine start to the first and last change event. */
  readonly firstEventMs?: number;
  readonly lastEventMs?: number;
}
export interface CommittedReport {
  readonly type: 'committed';
  readonly lsn: number;
  /** The LSN as PostgreSQL prints it, e.g. 0/16B3748. */
  readonly lsnText: string;
}
export interface FailedReport {
  readonly type: 'failed';
  readonly message: string;
  /** Every cause's class and message, outermost first (the server's error is usually last). */
  readonly causes: readonly string[];
}
export type ProbeReport =
  ChangeEvent | HeartbeatReport | ProgressReport | StoppedReport | CommittedReport | FailedReport;

/** The engine stopped with an error: Debezium's message and causes. */
export class DebeziumFailure extends Error {
  constructor(readonly report: FailedReport) {
    super([report.message, ...report.causes].join('\n  caused by: '));
    this.name = 'DebeziumFailure';
  }
}

/** Debezium properties: the connector's and the probe's own `probe.*` settings. */
export type DebeziumProperties = Readonly<Record<string, string>>;

/**
 * A scratch directory for one probe session: the properties file and the engine's offset file
 * (which outlives a run, so a second run resumes from it). Outside the repository.
 */
export interface ProbeWorkspace {
  readonly dir: string;
  /** Where the engine stores its offset (offset.storage.file.filename). */
  readonly offsetFile: string;
  remove(): void;
}

export function createProbeWorkspace(): ProbeWorkspace {
  const dir = mkdtempSync(path.join(tmpdir(), 'rds-airbyte-cdc-debezium-'));
  return {
    dir,
    offsetFile: path.join(dir, 'offsets.dat'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** One value in a Java properties file: backslash-escaped so the file reads back unchanged. */
function escapeProperty(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/[=:#!]/g, (character) => `\\${character}`)
    .replace(/^ /, '\\ ');
}

function writeProperties(workspace: ProbeWorkspace, properties: DebeziumProperties): string {
  if ('database.password' in properties) {
    throw new Error('the database password goes to the probe in its environment, not in a file');
  }
  const file = path.join(workspace.dir, `probe-${process.hrtime.bigint()}.properties`);
  const lines = Object.entries(properties).map(
    ([name, value]) => `${escapeProperty(name)}=${escapeProperty(value)}`,
  );
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

interface Waiter {
  readonly predicate: (reports: readonly ProbeReport[]) => boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A running probe: its reports so far, and ways to wait for more or stop it. */
export class ProbeProcess {
  readonly reports: ProbeReport[] = [];
  /** Debezium's stderr (its log), for failure messages. */
  stderr = '';
  private readonly waiters = new Set<Waiter>();
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly onReport: (report: ProbeReport) => void,
  ) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => this.receive(line));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code) => {
        this.exitCode = code;
        for (const waiter of [...this.waiters]) {
          if (!waiter.predicate(this.reports)) waiter.reject(this.endedError());
        }
        resolve(code);
      });
    });
  }

  /** The change events received so far. */
  get events(): ChangeEvent[] {
    return this.reports.filter((report): report is ChangeEvent => report.type === 'event');
  }

  private receive(line: string): void {
    let report: ProbeReport;
    try {
      report = JSON.parse(line) as ProbeReport;
    } catch {
      this.stderr += `(stdout) ${line}\n`;
      return;
    }
    this.reports.push(report);
    this.onReport(report);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(this.reports)) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private endedError(): Error {
    const failed = this.reports.find((report): report is FailedReport => report.type === 'failed');
    if (failed) return new DebeziumFailure(failed);
    return new Error(
      `the Debezium probe exited (code ${this.exitCode}) before the expected reports arrived; its log:\n${this.stderr.slice(-4000)}`,
    );
  }

  /**
   * Resolves once `predicate` holds for the reports so far; rejects when the probe exits first
   * (with Debezium's failure if it reported one) or after `timeoutMs`, a limit that only decides
   * how long a broken run takes to fail.
   */
  waitFor(
    predicate: (reports: readonly ProbeReport[]) => boolean,
    what: string,
    timeoutMs = 60000,
  ): Promise<void> {
    if (predicate(this.reports)) return Promise.resolve();
    if (this.exitCode !== undefined) return Promise.reject(this.endedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `no ${what} from Debezium within ${timeoutMs} ms; reports so far: ${JSON.stringify(this.reports.slice(-5))}; its log:\n${this.stderr.slice(-4000)}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits until `count` change events matching `filter` arrived; returns them. */
  async waitForEvents(
    count: number,
    filter: (event: ChangeEvent) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<ChangeEvent[]> {
    await this.waitFor(
      () => this.events.filter(filter).length >= count,
      `${count} change event(s)`,
      timeoutMs,
    );
    return this.events.filter(filter);
  }

  /**
   * Asks the engine to stop (it stores its offset) and waits for the clean stop; a JVM still
   * running after `timeoutMs` is killed and the stop fails, so a hung close cannot hang a test.
   */
  async stop(timeoutMs = 60000): Promise<StoppedReport> {
    if (this.exitCode === undefined) this.child.stdin!.end('stop\n');
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), timeoutMs);
    });
    const code = await Promise.race([this.exited, hung]);
    clearTimeout(timer);
    if (code === 'hung') {
      this.kill();
      await this.exited;
      throw new Error(
        `Debezium did not stop within ${timeoutMs} ms of "stop" and was killed; its log:\n${this.stderr.slice(-4000)}`,
      );
    }
    const stopped = this.reports.find(
      (report): report is StoppedReport => report.type === 'stopped',
    );
    if (code !== 0 || !stopped) throw this.endedError();
    return stopped;
  }

  /** Waits for the engine to end with an error and returns Debezium's report of it. */
  async failure(timeoutMs = 60000): Promise<FailedReport> {
    await this.waitFor(
      (reports) => reports.some((report) => report.type === 'failed'),
      'failure',
      timeoutMs,
    ).catch((error: Error) => {
      if (!(error instanceof DebeziumFailure)) throw error;
    });
    this.kill();
    await this.exited;
    return this.reports.find((report): report is FailedReport => report.type === 'failed')!;
  }

  /** Ends the JVM without a clean stop (nothing is stored). */
  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }

  /** Resolves when the JVM has exited. */
  async closed(): Promise<void> {
    await this.exited;
  }
}

function spawnProbe(
  command: 'stream' | 'commit-lsn',
  workspace: ProbeWorkspace,
  properties: DebeziumProperties,
  password: string,
  onReport: (report: ProbeReport) => void,
): ProbeProcess {
  const file = writeProperties(workspace, properties);
  const child = spawn(javaTool('java'), ['-cp', probeClasspath(), MAIN_CLASS, command, file], {
    env: { ...process.env, [PASSWORD_VARIABLE]: password },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new ProbeProcess(child, onReport);
}

/** Start Debezium's engine in a JVM; it streams until stop(). */
export function startDebezium(
  workspace: ProbeWorkspace,
  properties: DebeziumProperties,
  password: string,
  onReport: (report: ProbeReport) => void = () => undefined,
): ProbeProcess {
  return spawnProbe('stream', workspace, properties, password, onReport);
}

/**
 * Confirm the stored offset's LSN to the slot the way Airbyte does before its next sync (the
 * destination has loaded everything up to it). Returns the LSN committed.
 */
export async function commitStoredLsn(
  workspace: ProbeWorkspace,
  properties: DebeziumProperties,
  password: string,
): Promise<CommittedReport> {
  const probe = spawnProbe('commit-lsn', workspace, properties, password, () => undefined);
  await probe.closed();
  const committed = probe.reports.find(
    (report): report is CommittedReport => report.type === 'committed',
  );
  if (!committed) {
    const failed = probe.reports.find((report): report is FailedReport => report.type === 'failed');
    throw failed ? new DebeziumFailure(failed) : new Error(`commit-lsn failed: ${probe.stderr}`);
  }
  return committed;
}
