// An OTLP/gRPC trace endpoint that accepts every export and throws it away: the "local receiver" of the benchmark,
// so the servers pay for exporting but nothing downstream competes for the CPU. It does count the spans (by
// skipping through the protobuf, not decoding it), and prints the totals when stopped, so the benchmark can tell
// a server that exports every span from one that drops them.
import * as grpc from '@grpc/grpc-js';
import { countSpans } from '../../test/support/otlp-span-count.ts';

let spans = 0;
let bytes = 0;

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
