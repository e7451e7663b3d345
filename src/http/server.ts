// The HTTP server around the app: listening, JSON errors for requests Node's parser refuses before they reach
// Hono (unknown methods, oversized headers), and a graceful close bounded by a timeout.
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../telemetry/logger.ts';

interface HttpServer {
  /** Stops accepting, lets in-flight requests finish, and closes whatever is still open after `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

export function startServer(
  fetch: (request: Request, env: object) => Response | Promise<Response>,
  options: { readonly host: string; readonly port: number; readonly logger: Logger; readonly onListening?: (port: number) => void },
): HttpServer {
  // Plain HTTP/1.1: serve() returns an http.Server unless given HTTP/2 options.
  const server = serve({ fetch, hostname: options.host, port: options.port }, (address) => options.onListening?.(address.port)) as Server;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => refuse(error, socket));
  return {
    async close(timeoutMs) {
      const deadline = setTimeout(() => {
        options.logger.warn({ timeout_ms: timeoutMs }, 'in-flight requests still open at the timeout: closing them');
        server.closeAllConnections();
      }, timeoutMs);
      // close() resolves once every in-flight request has finished; idle keep-alive connections are closed at once.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(deadline);
    },
  };
}

function refuse(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({ error: tooLarge ? 'headers_too_large' : 'bad_request' });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
