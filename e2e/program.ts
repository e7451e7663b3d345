// The programs e2e runs (the service, Prometheus, Collectors, the trace store): each a child process logging into
// .e2e/logs/<name>.log, ready when a URL answers, stopped with SIGTERM (then SIGKILL) or killed as a crash would.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../harness/process.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WORK = join(ROOT, '.e2e');
export const LOGS = join(WORK, 'logs');


export class Program {
  readonly name: string;
  private readonly child: ChildProcess;

  constructor(name: string, command: string, args: string[], env: Record<string, string> = {}) {
    this.name = name;
    const log = createWriteStream(join(LOGS, `${name}.log`));
    this.child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(log);
    this.child.stderr!.pipe(log);
  }

  async waitReady(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}; see ${join(LOGS, `${this.name}.log`)}`);
      try {
        if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready at ${url} within ${timeoutMs} ms; see ${join(LOGS, `${this.name}.log`)}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs = 10_000): Promise<void> {
    return stopChild(this.child, timeoutMs);
  }

  /** SIGKILL, as a crash would: nothing is flushed. */
  async kill(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}
