// Starts the real service as it ships (SERVICE_ARGS: the SDK through --import, then src/main.ts), or another server of
// the bench, as a child process on a free loopback port, with the environment a test needs, ready once it logs the
// port it listens on.
import { execFile } from 'node:child_process';
import { FAST_ENV } from './fast-path.ts';
import { OtlpReceiver, type ReceiverMode } from './otlp-receiver.ts';
import { Program } from './process.ts';
import { ROOT } from './root.ts';

/** How the service starts everywhere (`npm start`, the Dockerfile's CMD): the SDK and its loader hook before the app. */
export const SERVICE_ARGS: readonly string[] = ['--import', './src/telemetry/instrumentation.ts', 'src/main.ts'];

export class ServiceProcess extends Program {
  baseUrl = '';

  /** Starts `node <args>` and resolves when it listens; rejects with its output if it exits or hangs first. */
  static async start(env: Record<string, string>, args: readonly string[] = SERVICE_ARGS, timeoutMs = 15_000): Promise<ServiceProcess> {
    const service = new ServiceProcess(args.at(-1)!, process.execPath, [...args], { env: { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env } });
    const listening = await service.waitForLine((line) => line.msg === 'listening', timeoutMs);
    service.baseUrl = `http://127.0.0.1:${String(listening.port)}`;
    return service;
  }
}

export interface ServiceWithReceiver {
  readonly service: ServiceProcess;
  readonly receiver: OtlpReceiver;
  /** Stops the service, which flushes its spans, then the receiver. */
  stop(): Promise<void>;
}

/** The service on the fast path (with `env` over it) exporting to `receiver`, which other services may share. */
export function startServiceExportingTo(receiver: OtlpReceiver, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return ServiceProcess.start({ ...FAST_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.address, ...env });
}

/** The service on the fast path (with `env` over it) exporting to an OTLP receiver of its own. */
export async function startServiceWithReceiver(env: Record<string, string> = {}, mode: ReceiverMode = 'decode'): Promise<ServiceWithReceiver> {
  const receiver = await OtlpReceiver.start('127.0.0.1', 0, mode);
  const service = await startServiceExportingTo(receiver, env).catch(async (error: unknown) => {
    await receiver.stop();
    throw error;
  });
  return {
    service,
    receiver,
    async stop() {
      await service.stop();
      await receiver.stop();
    },
  };
}

/** Runs `node <args>` in the project to its exit (killed after `timeoutMs`) and returns its code and output. */
export function runNode(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; output: string }> {
  const options = { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' as const, maxBuffer: 64 * 2 ** 20 };
  return new Promise((resolve) =>
    execFile(process.execPath, args, options, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr, output: stdout + stderr }),
    ),
  );
}
