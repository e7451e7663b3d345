// What e2e runs is what Compose resolves: each service's command, entrypoint and environment come from
// `docker compose config --format json` (the real Compose CLI), with only the image swapped for the program built
// here, so a typo in a flag or a variable in docker-compose.yml fails e2e. Container paths become the host paths
// their mounts name (bind mounts: the repository's files; named volumes: a fresh directory each). A container's own
// network namespace becomes its host name's loopback address here (e2e maps each Compose host name to one): its
// 0.0.0.0 and localhost are that address.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ResolvedCompose, type ResolvedService } from '../harness/compose.ts';
import { APP_IMAGE, APP_IMAGE_NAME, appImageEnvironment, factsOf } from '../harness/images.ts';
import { readProjectFile } from '../harness/root.ts';

/** The program built here for an image entrypoint, and the flags that put its default listen address on `host`. */
export interface StandIn {
  readonly program: string;
  readonly listenOn?: (host: string) => string[];
}

/** 0.0.0.0 and localhost in a container are its own namespace: here, its host name's address. */
const ownAddress = (name: string, value: string): string => value.replace(/^0\.0\.0\.0$/, name).replace(/\/\/(localhost|127\.0\.0\.1)(?=[:/]|$)/, `//${name}`);

interface Launch {
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

/** The Dockerfile's HEALTHCHECK command (exec form), which Compose inherits for the app service. */
function dockerfileHealthcheck(): string[] {
  return JSON.parse(/^\s*CMD (\[.+\])$/m.exec(readProjectFile('Dockerfile').split('HEALTHCHECK')[1]!)![1]!) as string[];
}

/** Rewrites container paths in `arg` to the host paths mounted there. */
function hostPaths(service: ResolvedService, arg: string, volumeDirs: Map<string, string>): string {
  const mounts = [...(service.volumes ?? [])].sort((a, b) => b.target.length - a.target.length);
  for (const mount of mounts) {
    const source = mount.type === 'bind' ? mount.source! : volumeDirs.get(mount.source!) ?? volumeDirs.set(mount.source!, mkdtempSync(join(tmpdir(), `exemplar-demo-${mount.source}-`))).get(mount.source!)!;
    const replaced = arg.replace(new RegExp(`(^|=)${mount.target.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$)`), `$1${source}`);
    if (replaced !== arg) return replaced;
  }
  return arg;
}

/**
 * How to run `name` here: `localEntrypoints` maps each image entrypoint to the program built here (prometheus,
 * otelcol); the app image runs this repository's sources with this Node, from the Dockerfile's ENV and CMD.
 */
export function launchOf(compose: ResolvedCompose, name: string, standIns: Record<string, StandIn>, volumeDirs: Map<string, string>): Launch {
  const service = compose.services[name];
  if (service === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  const environment = (base: Record<string, string | null>) => Object.fromEntries(Object.entries(base).map(([key, value]) => [key, ownAddress(name, value ?? '')]));
  if (service.image === APP_IMAGE_NAME) {
    const [program, ...args] = service.command ?? APP_IMAGE.cmd;
    if (program !== 'node') throw new Error(`${name}: the app image runs node, not ${program}`);
    return { command: process.execPath, args, env: environment({ ...appImageEnvironment(), ...service.environment }) };
  }
  const facts = factsOf(service.image);
  if (facts === undefined) throw new Error(`${name}: no facts for ${service.image}`);
  const entrypoint = (service.entrypoint ?? facts.entrypoint)[0]!;
  const standIn = standIns[entrypoint];
  if (standIn === undefined) throw new Error(`${name}: nothing here stands in for ${entrypoint} of ${service.image}`);
  const args = (service.command ?? facts.cmd).map((arg) => hostPaths(service, arg, volumeDirs));
  return { command: standIn.program, args: [...args, ...(standIn.listenOn?.(name) ?? [])], env: environment(service.environment ?? {}) };
}

/**
 * A service's healthcheck as a command to run here, its program swapped for the one built here (`localPrograms`,
 * by the name or path the healthcheck uses), or undefined when nothing here stands in for it. The app's comes from
 * its Dockerfile, as Compose inherits it. A busybox applet runs as the program of the same name here.
 */
export function healthcheckOf(compose: ResolvedCompose, name: string, localPrograms: Record<string, string>): string[] | undefined {
  const service = compose.services[name]!;
  const test = service.image === APP_IMAGE_NAME ? ['CMD', ...dockerfileHealthcheck()] : service.healthcheck?.test;
  if (test?.[0] !== 'CMD') return undefined;
  const [program, ...rest] = test.slice(1) as [string, ...string[]];
  const args = rest.map((arg) => ownAddress(name, arg));
  if (program.endsWith('/busybox')) return [args[0]!, ...args.slice(1)];
  const local = program === 'node' ? process.execPath : localPrograms[program];
  return local === undefined ? undefined : [local, ...args];
}
