// An OTLP/gRPC trace endpoint that accepts every export and throws it away: the "local receiver" of the benchmark,
// so the servers pay for exporting but nothing downstream competes for the CPU. It does count the spans (by
// skipping through the protobuf, not decoding it), and prints the totals when stopped, so the benchmark can tell
// a server that exports every span from one that drops them.
import * as grpc from '@grpc/grpc-js';

let spans = 0;
let bytes = 0;

/** Calls `visit` with each length-delimited field `field` of a protobuf message (other fields are skipped). */
function eachField(buffer: Buffer, start: number, end: number, field: number, visit: (start: number, end: number) => void): void {
  let offset = start;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = buffer[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (offset < end) {
    const key = varint();
    const wireType = key & 7;
    if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const length = varint();
      if (key >>> 3 === field) visit(offset, offset + length);
      offset += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
}

/** ExportTraceServiceRequest.resource_spans(1) -> ResourceSpans.scope_spans(2) -> ScopeSpans.spans(2). */
function countSpans(request: Buffer): number {
  let count = 0;
  eachField(request, 0, request.length, 1, (rs, re) => eachField(request, rs, re, 2, (ss, se) => eachField(request, ss, se, 2, () => (count += 1))));
  return count;
}

const server = new grpc.Server();
const identity = (buffer: Buffer) => buffer;
server.addService(
  {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestDeserialize: identity,
      requestSerialize: identity,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: identity,
    },
  },
  {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      spans += countSpans(call.request);
      bytes += call.request.length;
      callback(null, Buffer.alloc(0));
    },
  },
);
server.bindAsync(`127.0.0.1:${process.env.PORT ?? '0'}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ msg: 'listening', port }));
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    console.log(JSON.stringify({ msg: 'totals', spans, bytes }));
    process.exit(0);
  });
}
