// What each image pinned in docker-compose.yml contains, read from its upstream build files, because no image can be
// pulled or run here. test/compose.test.ts checks every command, entrypoint, healthcheck, user and volume of the
// Compose file against this table, and e2e/compose.ts uses the entrypoints to run the local stand-in programs.
// When a pin changes, read its build files again at the new tag and update `readAt`: the test refuses a pin the table
// does not name.
import { readProjectFile } from './root.ts';
import { SERVICE_ARGS } from './service.ts';

type ImageBase = 'scratch' | 'distroless' | 'busybox' | 'debian' | 'alpine';

export interface ImageFacts {
  /** The image reference exactly as docker-compose.yml pins it. */
  readonly image: string;
  /** Repository, tag and file(s) the facts below were read from. */
  readonly readAt: string;
  readonly base: ImageBase;
  /** The user the image runs as when Compose sets none (numeric where the image has no passwd entry for it). */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** Executables by absolute path. A bare name resolves through PATH (the image's Env). */
  readonly executables: readonly string[];
  /** Directories the default user may write, with how they come to be so. */
  readonly writable: readonly string[];
  readonly path: readonly string[];
}

const STANDARD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Busybox installs one static binary and a hard link per applet under /bin (`busybox --install /bin`). */
const BUSYBOX_APPLETS = ['sh', 'cp', 'mv', 'wget', 'chown', 'chmod', 'mkdir'].map((applet) => `/bin/${applet}`);

export const IMAGES: readonly ImageFacts[] = [
  {
    image: 'grafana/tempo:3.0.3',
    // FROM gcr.io/distroless/static-debian12; COPY /tempo; COPY --chown=10001:10001 --chmod=0700 /var/tempo;
    // USER 10001:10001; ENTRYPOINT ["/tempo"]. `-health` probes http://localhost:3200/ready (cmd/tempo/health.go).
    readAt: 'grafana/tempo v3.0.3 (commit 1900ed7b): cmd/tempo/Dockerfile, cmd/tempo/main.go, cmd/tempo/health.go',
    base: 'distroless',
    user: '10001',
    entrypoint: ['/tempo'],
    cmd: [],
    executables: ['/tempo'],
    writable: ['/var/tempo'],
    path: STANDARD_PATH,
  },
  {
    image: 'otel/opentelemetry-collector-contrib:0.161.0',
    // FROM scratch; USER 10001:10001; COPY otelcol-contrib /otelcol-contrib; ENTRYPOINT ["/otelcol-contrib"];
    // CMD ["--config", "/etc/otelcol-contrib/config.yaml"]. No shell, no wget: hence the healthcheck-tools volume.
    readAt:
      'open-telemetry/opentelemetry-collector-releases v0.159.0 (newest tag in the snapshot read; the file has had only base-digest bumps since): distributions/otelcol-contrib/Dockerfile',
    base: 'scratch',
    user: '10001',
    entrypoint: ['/otelcol-contrib'],
    cmd: ['--config', '/etc/otelcol-contrib/config.yaml'],
    executables: ['/otelcol-contrib'],
    writable: [],
    path: STANDARD_PATH,
  },
  {
    image: 'prom/prometheus:v3.16.0',
    // The un-suffixed tag is the busybox variant (Makefile.common builds `Dockerfile` without a suffix; CHANGELOG
    // 3.10.0: "The busybox image remains the default"). Dockerfile: COPY prometheus and promtool to /bin; chown
    // nobody /etc/prometheus /prometheus; USER nobody; ENTRYPOINT ["/bin/prometheus"]; CMD [--config.file=...,
    // --storage.tsdb.path=/prometheus]. promtool check ready probes <--url>/-/ready (default localhost:9090), so the
    // healthcheck also holds for the -distroless variant, which has no wget.
    readAt:
      'prometheus/prometheus v3.16.0 (module v0.316.0): Dockerfile, Dockerfile.distroless, Makefile.common, cmd/promtool/main.go; prometheus/busybox Makefile (base = busybox:uclibc, has sh and wget)',
    base: 'busybox',
    user: 'nobody',
    entrypoint: ['/bin/prometheus'],
    cmd: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'],
    executables: ['/bin/prometheus', '/bin/promtool', ...BUSYBOX_APPLETS],
    writable: ['/prometheus', '/etc/prometheus'],
    path: STANDARD_PATH,
  },
  {
    image: 'grafana/grafana:13.2.3',
    // Default stage final-alpine: apk add bash curl ...; wget is Alpine's busybox applet; USER 472 (group 0);
    // data, logs, plugins and provisioning chowned to grafana; PATH=/usr/share/grafana/bin:$PATH;
    // ENTRYPOINT ["/run.sh"] (packaging/docker/run.sh, which also reads GF_*__FILE secrets).
    readAt:
      'grafana/grafana Dockerfile and packaging/docker/run.sh, newest versions stored in the search index (the repository is too large to fetch; not confirmed at v13.2.3; the v13.2 docs still name Alpine as the default base)',
    base: 'alpine',
    user: '472',
    entrypoint: ['/run.sh'],
    cmd: [],
    executables: ['/run.sh', '/usr/share/grafana/bin/grafana', '/bin/sh', '/bin/bash', '/bin/busybox', '/usr/bin/wget', '/usr/bin/curl'],
    writable: ['/var/lib/grafana', '/var/log/grafana'],
    path: ['/usr/share/grafana/bin', ...STANDARD_PATH],
  },
  {
    image: 'grafana/loki:3.7.6',
    // Final stage FROM gcr.io/distroless/static:nonroot; COPY loki /usr/bin/loki; COPY --chown=10001:10001 /etc/loki
    // and /loki (with /loki/rules, /loki/rules-temp); passwd and group with loki 10001; USER 10001; ENTRYPOINT
    // ["/usr/bin/loki"]; CMD ["-config.file=/etc/loki/local-config.yaml"]. `-health` probes
    // http://localhost:3100/ready before any config is read (cmd/loki/main.go, health.go).
    readAt: 'grafana/loki v3.7.6 (commit 5003600d): cmd/loki/Dockerfile, cmd/loki/main.go, cmd/loki/health.go',
    base: 'distroless',
    user: '10001',
    entrypoint: ['/usr/bin/loki'],
    cmd: ['-config.file=/etc/loki/local-config.yaml'],
    executables: ['/usr/bin/loki'],
    writable: ['/loki', '/etc/loki'],
    path: STANDARD_PATH,
  },
  {
    image: 'busybox:1.37.0-musl',
    // FROM scratch; ADD busybox.tar.gz /; CMD ["sh"]; no USER (root). One static binary, applets linked in /bin.
    readAt: 'docker-library/busybox master 9c208781 and dist-amd64 70ce0fb9: latest-1/musl/Dockerfile, latest-1/musl/amd64 rootfs listing',
    base: 'busybox',
    user: 'root',
    entrypoint: [],
    cmd: ['sh'],
    executables: ['/bin/busybox', ...BUSYBOX_APPLETS],
    writable: ['/'],
    path: STANDARD_PATH,
  },
];

/**
 * The service's own image (Dockerfile): node:24 trixie-slim, whose ENTRYPOINT docker-entrypoint.sh execs the
 * command (nodejs/docker-node 24/trixie-slim/Dockerfile, HEAD f27d936f: user node uid 1000, no curl or wget).
 * The runtime stage copies src/ and scripts/ into /app and runs as `node`; Compose makes the root read-only.
 */
/** The service's image as docker-compose.yml names it (built from the Dockerfile, never pulled). */
export const APP_IMAGE_NAME = 'exemplar-demo-app:local';

export const APP_IMAGE: Omit<ImageFacts, 'image'> & { readonly files: readonly string[] } = {
  readAt: 'this repository: Dockerfile; nodejs/docker-node HEAD f27d936f: 24/trixie-slim/Dockerfile, docker-entrypoint.sh',
  base: 'debian',
  user: 'node',
  entrypoint: ['docker-entrypoint.sh'],
  cmd: ['node', ...SERVICE_ARGS],
  executables: ['/usr/local/bin/docker-entrypoint.sh', '/usr/local/bin/node', '/usr/local/bin/npm', '/bin/sh', '/bin/bash'],
  writable: ['/tmp', '/home/node'],
  path: STANDARD_PATH,
  files: ['/app/src', '/app/scripts'],
};

/** The Dockerfile's ENV (e.g. HOST=0.0.0.0 PORT=8080): the environment the app image has before Compose adds to it. */
export function appImageEnvironment(): Record<string, string> {
  const line = /^ENV (.+)$/m.exec(readProjectFile('Dockerfile'))![1]!;
  return Object.fromEntries(line.split(/\s+/).map((pair) => pair.split('=') as [string, string]));
}

export function factsOf(image: string): ImageFacts | undefined {
  return IMAGES.find((facts) => facts.image === image);
}

/** Where `program` (absolute, or a bare name looked up on the image's PATH) is in the image, if anywhere. */
export function resolveExecutable(facts: Pick<ImageFacts, 'executables' | 'path'>, program: string): string | undefined {
  if (program.startsWith('/')) return facts.executables.includes(program) ? program : undefined;
  return facts.path.map((directory) => `${directory}/${program}`).find((candidate) => facts.executables.includes(candidate));
}

/**
 * The basic roles that may open Explore, where every exemplar link leads: `fixed:datasources:explorer`
 * (action `datasources:explore`) is granted to Editor, and Admin inherits Editor's grants; Viewer only with the
 * deprecated `viewers_can_edit`. The front end sends a user without it from /explore to the home page.
 * Read in grafana/grafana pkg/api/accesscontrol.go (the datasources explorer role registration) and
 * pkg/services/accesscontrol/models.go (BuiltInRolesWithParents), newest stored versions; not confirmed at v13.2.3.
 * An empty GF_* variable is ignored (pkg/setting/setting.go applyEnvVariableOverrides: `len(envValue) > 0`), so an
 * unset admin password leaves Grafana's default.
 */
export const GRAFANA_EXPLORE_ROLES: readonly string[] = ['Editor', 'Admin'];
