// The real programs the tests, the bench and e2e run beside the service (Prometheus, the Collector, Jaeger, the
// Compose CLI): built from the Go module proxy by scripts/peers.sh and cached outside the clone. `make test` and
// `make e2e` build the peers their suites need before any test starts (scripts/peers.sh --ready), so that no test
// spends its time budget on a build. A run without make (`npm test`, one test file) still builds a missing peer on
// first use (minutes, its progress on stderr), rather than failing: it then works on any machine with Go, though
// the first test to need that peer may overrun its time budget once.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './root.ts';

type PeerName = 'prometheus' | 'otelcol' | 'jaeger' | 'compose';

/** The directory holding the peer's programs. */
export function peerDir(name: PeerName): string {
  return execFileSync(join(ROOT, 'scripts/peers.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
