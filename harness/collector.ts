// The real Collector as an OTLP endpoint that counts and drops spans and log records (bench/otelcol.yaml): the benchmark's receiver
// for every row, and the receiver of the protocol test. Each instance takes free loopback ports of its own.
import { join } from 'node:path';
import { peerDir } from './peers.ts';
import { freePort, Program } from './process.ts';
import { ROOT } from './root.ts';

export class CountingCollector {
  /** OTLP/gRPC, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly grpcEndpoint: string;
  /** OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly httpEndpoint: string;
  private readonly program: Program;
  private readonly metricsUrl: string;

  private constructor(program: Program, ports: { grpc: number; http: number; metrics: number }) {
    this.program = program;
    this.grpcEndpoint = `http://127.0.0.1:${ports.grpc}`;
    this.httpEndpoint = `http://127.0.0.1:${ports.http}`;
    this.metricsUrl = `http://127.0.0.1:${ports.metrics}/metrics`;
  }

  static async start(): Promise<CountingCollector> {
    const ports = { grpc: await freePort(), http: await freePort(), metrics: await freePort() };
    const program = new Program('otelcol', join(peerDir('otelcol'), 'otelcol'), [`--config=${join(ROOT, 'bench/otelcol.yaml')}`], {
      env: {
        OTLP_GRPC_ADDRESS: `127.0.0.1:${ports.grpc}`,
        OTLP_HTTP_ADDRESS: `127.0.0.1:${ports.http}`,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(ports.metrics),
      },
    });
    const collector = new CountingCollector(program, ports);
    await program.waitReady(collector.metricsUrl, 20_000);
    return collector;
  }

  /** Spans the OTLP receiver accepted so far, by transport (otelcol_receiver_accepted_spans). */
  acceptedSpans(): Promise<{ grpc: number; http: number }> {
    return this.accepted('spans');
  }

  /** Log records the OTLP receiver accepted so far, by transport (otelcol_receiver_accepted_log_records). */
  acceptedLogRecords(): Promise<{ grpc: number; http: number }> {
    return this.accepted('log_records');
  }

  private async accepted(items: 'spans' | 'log_records'): Promise<{ grpc: number; http: number }> {
    const exposition = await (await fetch(this.metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const total = (transport: string) =>
      [...exposition.matchAll(new RegExp(`^otelcol_receiver_accepted_${items}(?:_total)?\\{([^}]*)\\} (\\S+)$`, 'gm'))]
        .filter(([, labels]) => labels!.includes(`transport="${transport}"`))
        .reduce((sum, [, , value]) => sum + Number(value), 0);
    return { grpc: total('grpc'), http: total('http') };
  }

  async stop(): Promise<void> {
    await this.program.stop();
  }
}
