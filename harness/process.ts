// The one way the tests, the bench and e2e run a program beside them (the service, Prometheus, the Collector, the
// trace store): spawned with only the environment it is given, every output line kept (JSON-parsed when it is JSON)
// and, for e2e, written to a log file; ready when a URL answers or a log line appears; stopped with SIGTERM (so the
// service flushes its spans), then SIGKILL after a timeout, so nothing here can hang on a stuck peer.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './root.ts';

/** An output line: the parsed object when the line is JSON, else `{ msg: <the line>, level: 'raw' }`. */
type LogLine = Record<string, unknown> & { msg?: string; level?: string };

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface ProgramOptions {
  /** Added to PATH and HOME, the only variables a program inherits. */
  readonly env?: Record<string, string>;
  /** Where the output also goes, line by line (e2e keeps every program's log). */
  readonly logFile?: string;
}

/** Longer than the service's own shutdown limit (SHUTDOWN_TIMEOUT_MS, 10 s), so SIGKILL never cuts its flush short. */
const STOP_TIMEOUT_MS = 15_000;

export class Program {
  readonly name: string;
  readonly logs: LogLine[] = [];
  /** Resolves once the program has exited and its output has been read to the end. */
  readonly exit: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly logFile: string | undefined;
  private ended = false;
  /** Wakes the readiness checks waiting for output or the exit. */
  private wakers: (() => void)[] = [];

  constructor(name: string, command: string, args: readonly string[], options: ProgramOptions = {}) {
    this.name = name;
    this.logFile = options.logFile;
    this.child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => {
        file?.write(`${text}\n`);
        this.logs.push(parseLine(text));
        this.wake();
      });
    }
    this.exit = new Promise((resolve, reject) => {
      const end = (settle: () => void) => {
        this.ended = true;
        this.wake();
        if (file === undefined) settle();
        else file.end(settle);
      };
      this.child.once('error', (error) => end(() => reject(error))); // not spawned at all (no such program)
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) => end(() => resolve({ code, signal })));
    });
    this.exit.catch(() => {}); // reported to whoever waits on the program
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The output so far as text, one line each (a JSON line as its JSON). */
  get output(): string {
    return this.logs.map((line) => (line.level === 'raw' ? line.msg : JSON.stringify(line))).join('\n');
  }

  /** Resolves when `url` answers 2xx. A program that exits first or is not ready in `timeoutMs` is killed. */
  async waitReady(url: string, timeoutMs = 30_000): Promise<void> {
    const answers = () => fetch(url, { signal: AbortSignal.timeout(1000) }).then((response) => response.ok || undefined, () => undefined);
    await this.waitUntil(answers, `not ready at ${url}`, timeoutMs);
  }

  /** Resolves with the first output line, past or future, that `matches`; fails as `waitReady` does. */
  waitForLine(matches: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitUntil(async () => this.logs.find(matches), 'logged no such line', timeoutMs);
  }

  /** Resident set size now, in MiB. */
  rssMb(): number {
    return rssMb(this.pid);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit. */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    if (this.ended) return this.exit;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(killer);
    }
  }

  /** SIGKILL, as a crash would: nothing is flushed. */
  kill(): Promise<Exit> {
    this.child.kill('SIGKILL');
    return this.exit;
  }

  private wake(): void {
    for (const wake of this.wakers.splice(0)) wake();
  }

  /** Checks again on each output line, at the exit, and every 100 ms, until `check` answers. */
  private async waitUntil<T>(check: () => Promise<T | undefined>, failure: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await check();
      if (result !== undefined) return result;
      if (this.ended || Date.now() > deadline) break;
      await Promise.race([sleep(100), new Promise<void>((resolve) => this.wakers.push(resolve))]);
    }
    const reason = this.ended ? 'exited before it was ready' : `${failure} within ${timeoutMs} ms`;
    // Nothing outlives a failed start.
    const exit = await this.kill().then(({ code, signal }) => `exit code ${code}, signal ${signal}`, (error: Error) => error.message);
    throw new Error(`${this.name} ${reason} (${exit})${this.logFile === undefined ? '' : `; see ${this.logFile}`}\n${this.output}`);
  }
}

function parseLine(text: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as LogLine;
  } catch {
    // not JSON
  }
  return { msg: text, level: 'raw' };
}

/** Resident set size of a running process, in MiB, read from /proc: no request to the process measured. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

/** A loopback port nothing listens on now, for a program told where to listen. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
