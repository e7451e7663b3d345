// Starts the real service (`node src/main.ts`) as a child process on a free loopback port, with the environment a
// test needs, and reads its JSON log lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT } from './root.ts';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { rssMb, stopChild } from './process.ts';


export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export class ServiceProcess {
  readonly logs: LogLine[] = [];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  baseUrl = '';
  private readonly child: ChildProcess;

  private constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exit = once(this.child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line, level: 'raw' });
        }
      });
    }
  }

  /** Starts the service and resolves when it listens; rejects with its output if it exits first. */
  static async start(env: Record<string, string>, timeoutMs = 15_000): Promise<ServiceProcess> {
    const service = new ServiceProcess(env);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listening = service.logs.find((line) => line.msg === 'listening');
      if (listening !== undefined) {
        service.baseUrl = `http://127.0.0.1:${String(listening.port)}`;
        return service;
      }
      if (service.child.exitCode !== null || Date.now() > deadline) {
        service.child.kill('SIGKILL');
        throw new Error(`service did not start: ${JSON.stringify(service.logs)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The service's resident set size now, in MiB. */
  rssMb(): number {
    return rssMb(this.child.pid!);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Sends SIGTERM and waits for the exit; SIGKILL after `timeoutMs` so a test never hangs. */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await stopChild(this.child, timeoutMs);
    return this.exit;
  }
}

/** Runs `node <args>` in the project to its exit (killed after `timeoutMs`) and returns its code and output. */
export async function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string; output: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, output: stdout + stderr };
}
