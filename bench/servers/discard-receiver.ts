// An OTLP/gRPC trace endpoint that accepts every export and throws it away without decoding: the "local
// receiver" of the benchmark, so the servers pay for exporting but nothing downstream competes for the CPU.
import * as grpc from '@grpc/grpc-js';

const server = new grpc.Server();
const identity = (bytes: Buffer) => bytes;
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
  { Export: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)) },
);
server.bindAsync(`127.0.0.1:${process.env.PORT ?? '0'}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(JSON.stringify({ msg: 'listening', port }));
});
