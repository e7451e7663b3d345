// A real OTLP/gRPC receiver for the tests: the service's own OTLP exporters send spans and log records to it over
// gRPC, and the tests read what arrived. The proto below is the subset of opentelemetry-proto's trace and logs
// messages we read (field numbers as upstream); protobuf skips the fields it does not name.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const OTLP_SUBSET = `
syntax = "proto3";
package opentelemetry.proto.collector.v1;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportServiceResponse {}
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message ScopeLogs { repeated LogRecord log_records = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message LogRecord {
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  bytes trace_id = 9;
  bytes span_id = 10;
}
message Status { int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
}
`;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** 2 is SERVER in OTLP's SpanKind. */
  readonly kind: number;
  readonly durationSeconds: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
  /** 2 is ERROR in OTLP's status code. */
  readonly statusCode: number;
}

export interface ReceivedLogRecord {
  /** Empty when the record was made outside any span. */
  readonly traceId: string;
  readonly spanId: string;
  readonly severityText: string;
  /** 13 is WARN in OTLP's SeverityNumber. */
  readonly severityNumber: number;
  readonly body: string | number | boolean | undefined;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
}

/** Span kinds as OTLP numbers them (opentelemetry-proto trace.proto, Span.SpanKind). */
export const OTLP_INTERNAL_KIND = 1;
export const OTLP_SERVER_KIND = 2;
export const OTLP_CLIENT_KIND = 3;

interface DecodedKeyValue {
  key: string;
  value?: { stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number };
}
interface DecodedSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: number;
  startTimeUnixNano: number | string;
  endTimeUnixNano: number | string;
  attributes: DecodedKeyValue[];
  status?: { code?: number };
}
interface DecodedRequest {
  resourceSpans: { resource?: { attributes: DecodedKeyValue[] }; scopeSpans: { spans: DecodedSpan[] }[] }[];
}
interface DecodedLogsRequest {
  resourceLogs: {
    resource?: { attributes: DecodedKeyValue[] };
    scopeLogs: { logRecords: { severityNumber: number; severityText: string; body?: DecodedKeyValue['value']; attributes: DecodedKeyValue[]; traceId: Buffer; spanId: Buffer }[] }[];
  }[];
}

/** `decode`: keep every span, decoded, in `spans`; `count`: only count them in `received` (for long loads). */
export type ReceiverMode = 'decode' | 'count';

const ROOT_TYPE = protobuf.parse(OTLP_SUBSET, { keepCase: false }).root;
const REQUEST_TYPE = ROOT_TYPE.lookupType('ExportTraceServiceRequest');
const LOGS_REQUEST_TYPE = ROOT_TYPE.lookupType('ExportLogsServiceRequest');
/** Both services answer with an empty message (no partial success). */
export const EMPTY_RESPONSE = Buffer.from(ROOT_TYPE.lookupType('ExportServiceResponse').encode({}).finish());

/** The log records of an ExportLogsServiceRequest (OTLP's protobuf, as gRPC and OTLP/HTTP carry it). */
export function decodeLogRecords(request: Uint8Array): ReceivedLogRecord[] {
  const decoded = LOGS_REQUEST_TYPE.toObject(LOGS_REQUEST_TYPE.decode(request), { longs: Number, defaults: true }) as DecodedLogsRequest;
  return decoded.resourceLogs.flatMap((resourceLogs) => {
    const resource = toRecord(resourceLogs.resource?.attributes ?? []);
    return resourceLogs.scopeLogs.flatMap((scopeLogs) =>
      scopeLogs.logRecords.map((record) => ({
        traceId: record.traceId.toString('hex'),
        spanId: record.spanId.toString('hex'),
        severityText: record.severityText,
        severityNumber: record.severityNumber,
        body: scalarOf(record.body),
        attributes: toRecord(record.attributes),
        resource,
      })),
    );
  });
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Log records received so far (decoded in either mode: the service writes few). */
  readonly logRecords: ReceivedLogRecord[] = [];
  /** Spans received so far, in either mode. */
  received = 0;
  /** Set to make every export (spans and logs) fail with UNAVAILABLE, as a collector that is down would. */
  unavailable = false;
  address = '';
  private server = new grpc.Server();
  private waiters: (() => void)[] = [];
  private readonly mode: ReceiverMode;

  private constructor(mode: ReceiverMode) {
    this.mode = mode;
  }

  /** Listens on `port` (0: any free one). */
  static async start(host = '127.0.0.1', port = 0, mode: ReceiverMode = 'decode'): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(mode);
    await receiver.listen(host, port);
    return receiver;
  }

  /** Listens again on the same address after `kill()` or `stop()`, as a collector coming back would. */
  async restart(): Promise<void> {
    const { hostname, port } = new URL(this.address);
    this.server = new grpc.Server();
    await this.listen(hostname, Number(port));
  }

  private async listen(host: string, requestedPort: number): Promise<void> {
    const unary = (path: string, deserialize: (bytes: Buffer) => unknown): grpc.MethodDefinition<unknown, object> => ({
      path,
      requestStream: false,
      responseStream: false,
      requestDeserialize: deserialize,
      requestSerialize: () => Buffer.alloc(0),
      responseSerialize: () => EMPTY_RESPONSE,
      responseDeserialize: () => ({}),
    });
    const handler =
      <Request>(accept: (request: Request) => void): grpc.handleUnaryCall<Request, object> =>
      (call, callback) => {
        if (this.unavailable) {
          callback({ code: grpc.status.UNAVAILABLE, details: 'receiver set unavailable by the test' });
          return;
        }
        accept(call.request);
        for (const wake of this.waiters.splice(0)) wake();
        callback(null, {});
      };
    this.server.addService(
      {
        Export: unary('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (bytes) =>
          this.mode === 'count' ? { count: countSpans(bytes) } : REQUEST_TYPE.toObject(REQUEST_TYPE.decode(bytes), { longs: Number, defaults: true }),
        ),
      },
      {
        Export: handler<DecodedRequest | { count: number }>((request) => {
          if ('count' in request) this.received += request.count;
          else this.accept(request);
        }),
      },
    );
    this.server.addService(
      { Export: unary('/opentelemetry.proto.collector.logs.v1.LogsService/Export', decodeLogRecords) },
      { Export: handler<ReceivedLogRecord[]>((records) => this.logRecords.push(...records)) },
    );
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${requestedPort}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    this.address = `http://${host}:${port}`;
  }

  private accept(request: DecodedRequest): void {
    for (const resourceSpans of request.resourceSpans) {
      const resource = toRecord(resourceSpans.resource?.attributes ?? []);
      for (const scopeSpans of resourceSpans.scopeSpans) {
        for (const span of scopeSpans.spans) {
          this.received += 1;
          this.spans.push({
            traceId: span.traceId.toString('hex'),
            spanId: span.spanId.toString('hex'),
            parentSpanId: span.parentSpanId.toString('hex'),
            name: span.name,
            kind: span.kind,
            durationSeconds: (Number(span.endTimeUnixNano) - Number(span.startTimeUnixNano)) / 1e9,
            attributes: toRecord(span.attributes),
            resource,
            statusCode: span.status?.code ?? 0,
          });
        }
      }
    }
  }

  /** Resolves once `predicate` holds for the spans received so far; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<void> {
    return this.until(() => predicate(this.spans), timeoutMs);
  }

  /** Resolves once `predicate` holds for the log records received so far; rejects after `timeoutMs`. */
  waitForLogRecords(predicate: (records: readonly ReceivedLogRecord[]) => boolean, timeoutMs = 10_000): Promise<void> {
    return this.until(() => predicate(this.logRecords), timeoutMs);
  }

  private async until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${this.received} spans, ${this.logRecords.length} log records received)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  serverSpans(): ReceivedSpan[] {
    return this.spans.filter((span) => span.kind === OTLP_SERVER_KIND);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Stops at once, dropping open calls and connections, as a crashed collector would. */
  kill(): void {
    this.server.forceShutdown();
  }
}

function toRecord(attributes: readonly DecodedKeyValue[]): Record<string, string | number | boolean> {
  const record: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes) {
    const scalar = scalarOf(value);
    if (scalar !== undefined) record[key] = scalar;
  }
  return record;
}

/** An AnyValue's scalar (an int64 as a number), or undefined for none or a kind the subset does not decode. */
function scalarOf(value: DecodedKeyValue['value']): string | number | boolean | undefined {
  const scalar = value?.stringValue ?? value?.boolValue ?? value?.doubleValue ?? value?.intValue;
  return typeof scalar === 'string' && value?.intValue === scalar ? Number(scalar) : scalar;
}

/**
 * The spans of an ExportTraceServiceRequest, counted without decoding one: resource_spans (1) -> scope_spans (2) ->
 * spans (2), every other field skipped by protobufjs's Reader. Far cheaper than decoding under a long load.
 */
function countSpans(request: Uint8Array): number {
  let count = 0;
  eachField(request, 1, (resourceSpans) => eachField(resourceSpans, 2, (scopeSpans) => eachField(scopeSpans, 2, () => (count += 1))));
  return count;
}

/** Calls `visit` with the bytes of each length-delimited field number `field` of `message`. */
function eachField(message: Uint8Array, field: number, visit: (bytes: Uint8Array) => void): void {
  const reader = protobuf.Reader.create(message);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 === field && wireType === 2) visit(reader.bytes());
    else reader.skipType(wireType);
  }
}
