// The real Collector as an OTLP endpoint that counts and drops spans (bench/otelcol.yaml): the benchmark's receiver
// for every row, and the receiver of the protocol test. Each instance takes free loopback ports of its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT } from './root.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerDir } from './peers.ts';
import { rssMb, stopChild } from './process.ts';
import { freePort } from './prometheus.ts';


export class CountingCollector {
  /** OTLP/gRPC, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly grpcEndpoint: string;
  /** OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly httpEndpoint: string;
  private readonly child: ChildProcess;
  private readonly metricsUrl: string;

  private constructor(child: ChildProcess, ports: { grpc: number; http: number; metrics: number }) {
    this.child = child;
    this.grpcEndpoint = `http://127.0.0.1:${ports.grpc}`;
    this.httpEndpoint = `http://127.0.0.1:${ports.http}`;
    this.metricsUrl = `http://127.0.0.1:${ports.metrics}/metrics`;
  }

  static async start(): Promise<CountingCollector> {
    const directory = peerDir('otelcol');
    const ports = { grpc: await freePort(), http: await freePort(), metrics: await freePort() };
    const child = spawn(`${directory}/otelcol`, [`--config=${ROOT}bench/otelcol.yaml`], {
      env: {
        OTLP_GRPC_ADDRESS: `127.0.0.1:${ports.grpc}`,
        OTLP_HTTP_ADDRESS: `127.0.0.1:${ports.http}`,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(ports.metrics),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const collector = new CountingCollector(child, ports);
    const deadline = Date.now() + 20_000;
    while ((await collector.acceptedSpans().catch(() => undefined)) === undefined) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await collector.stop();
        throw new Error(`the Collector did not start (exit code ${child.exitCode})`);
      }
      await sleep(100);
    }
    return collector;
  }

  /** Spans the OTLP receiver accepted so far, by transport (otelcol_receiver_accepted_spans). */
  async acceptedSpans(): Promise<{ grpc: number; http: number }> {
    const exposition = await (await fetch(this.metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const total = (transport: string) =>
      [...exposition.matchAll(/^otelcol_receiver_accepted_spans(?:_total)?\{([^}]*)\} (\S+)$/gm)]
        .filter(([, labels]) => labels!.includes(`transport="${transport}"`))
        .reduce((sum, [, , value]) => sum + Number(value), 0);
    return { grpc: total('grpc'), http: total('http') };
  }

  rssMb(): number {
    return rssMb(this.child.pid!);
  }

  stop(): Promise<void> {
    return stopChild(this.child, 10_000);
  }
}
