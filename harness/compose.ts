// The real Docker Compose CLI (v2.40.3, built from the Go module proxy by scripts/peers.sh) reading
// docker-compose.yml. Its `config` command validates and interpolates the file without any engine, so the tests and
// e2e see the stack exactly as `docker compose up` would resolve it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerDir } from './peers.ts';
import { ROOT } from './root.ts';

function composeBinary(): string {
  return join(peerDir('compose'), 'docker-compose');
}

interface ComposeRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `docker compose config` on the committed file. `envFiles` stand for the user's .env (an empty file: none at all)
 * and, for the scale profile, scale.env;
 * the process environment is emptied so that nothing of this machine's takes part in the interpolation.
 */
export function composeConfig(options: { envFiles: readonly string[]; profiles?: readonly string[]; json?: boolean }): ComposeRun {
  const args = ['--project-directory', ROOT, '-f', join(ROOT, 'docker-compose.yml')];
  for (const envFile of options.envFiles) args.push('--env-file', envFile);
  for (const profile of options.profiles ?? []) args.push('--profile', profile);
  args.push('config', ...(options.json === true ? ['--format', 'json'] : ['--quiet']));
  const run = spawnSync(composeBinary(), args, { cwd: ROOT, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface ResolvedMount {
  readonly type: 'bind' | 'volume' | 'tmpfs';
  readonly source?: string;
  readonly target: string;
  readonly read_only?: boolean;
}

/** The parts of a service that Compose resolves and the checks read (compose-go's JSON names). */
export interface ResolvedService {
  readonly image: string;
  readonly build?: unknown;
  /** In bytes, as a decimal string (Compose converts 256m and the like). */
  readonly mem_limit?: string;
  readonly command?: string[] | null;
  readonly entrypoint?: string[] | null;
  readonly environment?: Record<string, string | null>;
  readonly healthcheck?: { readonly test?: string[]; readonly disable?: boolean };
  readonly user?: string;
  readonly volumes?: ResolvedMount[];
  readonly tmpfs?: string[];
  readonly read_only?: boolean;
  readonly profiles?: string[];
  readonly depends_on?: Record<string, { condition: string }>;
  readonly ports?: { readonly host_ip?: string; readonly target: number; readonly published?: string }[];
  readonly restart?: string;
  readonly cap_drop?: string[];
  readonly security_opt?: string[];
  /** A Go duration such as `25s`; absent, Docker's default of 10 s. */
  readonly stop_grace_period?: string;
}

export interface ResolvedCompose {
  readonly services: Record<string, ResolvedService>;
  /** The named volumes the file declares. */
  readonly volumes?: Record<string, unknown>;
}

/** The whole resolved model, every profile included, with `envFiles` (by default .env.example) as the user's .env. */
export function resolvedCompose(envFiles: readonly string[] = [join(ROOT, '.env.example')]): ResolvedCompose {
  const run = composeConfig({ envFiles, profiles: ['*'], json: true });
  if (run.status !== 0) throw new Error(`docker compose config failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ResolvedCompose;
}

/** A user's .env holding `settings` (none: a machine with no .env at all), as a file for `envFiles`. */
export function envFileWith(settings: Readonly<Record<string, string>> = {}): string {
  const file = join(mkdtempSync(join(tmpdir(), 'exemplar-demo-env-')), '.env');
  writeFileSync(file, Object.entries(settings).map(([name, value]) => `${name}=${value}\n`).join(''));
  return file;
}
