// The real programs the tests, the bench and e2e run beside the service (Prometheus, the Collector, Jaeger, the
// Compose CLI): built from the Go module proxy by scripts/peers.sh and cached outside the clone. The first call
// builds a missing peer (minutes; its progress goes to stderr), later calls answer at once.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './root.ts';

type PeerName = 'prometheus' | 'otelcol' | 'jaeger' | 'compose';

/** The directory holding the peer's programs. */
export function peerDir(name: PeerName): string {
  return execFileSync(join(ROOT, 'scripts/peers.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
