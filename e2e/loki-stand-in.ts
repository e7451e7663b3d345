// STAND-IN FOR LOKI: Loki cannot run here. This answers where Loki would (loki:3100) the one request the Collector
// makes of it, OTLP/HTTP log export to Loki's own endpoint (POST /otlp/v1/logs, protobuf, gzip by default), and
// keeps the records it receives, so e2e can follow a log line from the service through the real Collector and its
// committed config. What Loki does with a record (labels, structured metadata) is checked in test/loki.test.ts.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { decodeLogRecords, EMPTY_RESPONSE, type ReceivedLogRecord } from '../harness/otlp-receiver.ts';

const gunzipped = promisify(gunzip);
/** Loki's OTLP logs path (pkg/loki/modules.go at v3.7.6); the Collector's otlp_http exporter appends /v1/logs to /otlp. */
export const LOKI_OTLP_LOGS_PATH = '/otlp/v1/logs';

export class LokiStandIn {
  readonly records: ReceivedLogRecord[] = [];
  /** Requests answered other than with a record batch (wrong path, method or body). */
  readonly refused: string[] = [];
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  /** Listens on `host`:`port`, as Loki's HTTP server would. */
  static async start(host: string, port: number): Promise<LokiStandIn> {
    const standIn: LokiStandIn = new LokiStandIn(createServer((request, response) => void standIn.answer(request).then((status) => response.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(status === 200 ? EMPTY_RESPONSE : undefined))));
    await new Promise<void>((resolve, reject) => standIn.server.once('error', reject).listen(port, host, resolve));
    return standIn;
  }

  private async answer(request: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== 'POST' || request.url !== LOKI_OTLP_LOGS_PATH || request.headers['content-type'] !== 'application/x-protobuf') {
      this.refused.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
      return 404;
    }
    try {
      const body = Buffer.concat(chunks);
      this.records.push(...decodeLogRecords(request.headers['content-encoding'] === 'gzip' ? await gunzipped(body) : body));
      return 200;
    } catch (error) {
      this.refused.push(`undecodable body: ${(error as Error).message}`);
      return 400;
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
