// docker-compose.yml as the real Compose CLI reads it, checked against what each pinned image contains
// (harness/images.ts, read from the images' upstream build files), since no engine can run it here.
// This is where `make up` broke before: a `chown` in the distroless Tempo image, and a Grafana role that could not
// open the trace behind an exemplar.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { composeConfig, envFileWith, resolvedCompose, type ResolvedService } from '../harness/compose.ts';
import { readProjectFile, ROOT } from '../harness/root.ts';
import { APP_IMAGE, APP_IMAGE_NAME, factsOf, GRAFANA_EXPLORE_ROLES, IMAGES, type ImageFacts, resolveExecutable } from '../harness/images.ts';

const noEnvFile = envFileWith();

/** The packages (name@version) `npm ci` with `flags` installs from the project's lockfile, as its dry run lists them (no network). */
function packagesNpmCiAdds(flags: readonly string[]): Set<string> {
  const directory = mkdtempSync(join(tmpdir(), 'npm-ci-'));
  try {
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(directory, file));
    const run = spawnSync('npm', ['ci', ...flags, '--dry-run'], { cwd: directory, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return new Set([...run.stdout.matchAll(/^add (\S+) (\S+)$/gm)].map((match) => `${match[1]}@${match[2]}`));
  } finally {
    rmSync(directory, { recursive: true });
  }
}

describe('docker compose config (the real Compose CLI, v2.40.3)', () => {
  const cases: [string, Parameters<typeof composeConfig>[0]][] = [
    ['with .env.example as .env', { envFiles: [join(ROOT, '.env.example')] }],
    ['with no .env at all (make down, make load and a plain docker compose up before make up)', { envFiles: [noEnvFile] }],
    ['with the load profile', { envFiles: [join(ROOT, '.env.example')], profiles: ['load'] }],
    ['with the scale profile and its switches (make up-scale)', { envFiles: [join(ROOT, '.env.example'), join(ROOT, 'scale.env')], profiles: ['scale'] }],
  ];
  for (const [name, options] of cases) {
    it(`accepts the file ${name}, without a warning`, () => {
      const run = composeConfig(options);
      assert.equal(run.stderr, '', 'no error or warning');
      assert.equal(run.status, 0);
    });
  }

  it('refuses a broken file (the check can fail)', () => {
    const run = composeConfig({ envFiles: [envFileWith({ APP_PORT: 'not-a-port' })] });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /not-a-port/);
  });
});

describe('every service against the facts of its image, hand-copied from its build files (harness/images.ts)', () => {
  const compose = resolvedCompose();
  const services = Object.entries(compose.services);
  const factsFor = (service: ResolvedService): Omit<ImageFacts, 'image'> => (service.image === APP_IMAGE_NAME ? APP_IMAGE : factsOf(service.image)!);
  /** What a named volume holds before the service mounts it: the healthcheck-tools service copies busybox into it. */
  const volumeExecutables: Record<string, string[]> = { 'healthcheck-tools': ['busybox'] };

  /** An executable of the image, or one that a volume the service mounts provides. */
  const runnable = (service: ResolvedService, program: string): boolean => {
    if (resolveExecutable(factsFor(service), program) !== undefined) return true;
    return (service.volumes ?? []).some(
      (mount) => mount.type === 'volume' && (volumeExecutables[mount.source!] ?? []).some((name) => program === `${mount.target}/${name}`),
    );
  };

  it('names in the facts table every image it pins, at the pinned tag', () => {
    for (const [name, service] of services) {
      if (service.image === APP_IMAGE_NAME) continue;
      assert.ok(factsOf(service.image), `${name}: ${service.image} has no facts; read its build files at that tag and add them`);
    }
    const pinned = new Set(services.map(([, service]) => service.image));
    for (const facts of IMAGES) assert.ok(pinned.has(facts.image), `facts for ${facts.image}, which the file no longer pins`);
  });

  it('starts every service with a program its image has', () => {
    for (const [name, service] of services) {
      const facts = factsFor(service);
      const entrypoint = service.entrypoint ?? facts.entrypoint;
      const command = service.command ?? facts.cmd;
      const program = entrypoint[0] ?? command[0];
      assert.ok(program !== undefined, `${name} runs something`);
      assert.ok(runnable(service, program), `${name}: ${program} is not in ${service.image} (${facts.base}; ${facts.readAt})`);
      // docker-entrypoint.sh execs its first argument: that must exist too.
      if (entrypoint[0] === 'docker-entrypoint.sh') assert.ok(runnable(service, command[0]!), `${name}: ${command[0]}`);
      // A shell command runs its applets from the same image.
      if (command[0] === 'sh' && command[1] === '-c') {
        for (const word of command[2]!.split(/&&|\|\||;/).map((part) => part.trim().split(/\s+/)[0]!)) {
          assert.ok(runnable(service, word), `${name}: ${word} in its shell command`);
        }
      }
    }
  });

  it('gives every healthcheck a command its image (or a mounted tools volume) has', () => {
    for (const [name, service] of services) {
      const test = service.healthcheck?.test;
      if (service.healthcheck?.disable === true || test === undefined || test[0] === 'NONE') continue;
      if (test[0] === 'CMD-SHELL') assert.ok(runnable(service, '/bin/sh'), `${name}: CMD-SHELL needs /bin/sh in ${service.image}`);
      else assert.ok(runnable(service, test[1]!), `${name}: healthcheck ${test[1]} is not in ${service.image}`);
    }
  });

  it('turns off the image healthcheck where the service serves nothing (the load profile)', () => {
    assert.equal(compose.services.load!.healthcheck?.disable, true);
  });

  it('runs no service as root, and none with a user its image does not expect', () => {
    for (const [name, service] of services) {
      const facts = factsFor(service);
      const user = service.user ?? facts.user;
      if (name === 'healthcheck-tools') continue; // busybox copying a file into a fresh volume, then exiting
      assert.doesNotMatch(user, /^(root|0)(:|$)/, `${name} runs as ${user}`);
      if (service.user !== undefined) assert.equal(service.user, facts.user, `${name}: user ${service.user} differs from the image's ${facts.user}`);
    }
  });

  it('mounts writable volumes only where the image user may write', () => {
    for (const [name, service] of services) {
      const facts = factsFor(service);
      const user = service.user ?? facts.user;
      for (const mount of service.volumes ?? []) {
        if (mount.read_only === true || mount.type !== 'volume' || user === 'root') continue;
        // A fresh named volume takes the ownership of the image directory it is mounted on.
        assert.ok(facts.writable.includes(mount.target), `${name}: ${mount.source} on ${mount.target}, which ${user} cannot write in ${service.image}`);
      }
    }
  });

  it('gives read-only containers a writable /tmp where they write files (the load script\'s --samples-file)', () => {
    const load = compose.services.load!;
    assert.equal(load.read_only, true);
    assert.ok(load.tmpfs?.includes('/tmp'));
    assert.ok(APP_IMAGE.writable.includes('/tmp'));
  });

  it('needs no init container to own the Tempo volume: the image ships /var/tempo owned by its user', () => {
    const tempo = compose.services.tempo!;
    assert.deepEqual(tempo.depends_on ?? {}, {});
    assert.ok(tempo.volumes!.some((mount) => mount.type === 'volume' && mount.target === '/var/tempo'));
    assert.ok(factsOf(tempo.image)!.writable.includes('/var/tempo'));
  });

  it('keeps the image scripts the app and load commands name (the Dockerfile\'s COPY lines, read as text)', () => {
    const dockerfile = readProjectFile('Dockerfile');
    assert.match(dockerfile, /^WORKDIR \/app$/m);
    for (const file of APP_IMAGE.files) assert.match(dockerfile, new RegExp(`^COPY --from=check ${file} \\.${file.slice('/app'.length)}$`, 'm'));
    for (const [name, service] of services.filter(([, service]) => service.image === APP_IMAGE_NAME)) {
      for (const script of (service.command ?? APP_IMAGE.cmd).filter((arg) => arg.endsWith('.ts'))) {
        const path = `/app/${script.replace(/^\.\//, '')}`;
        assert.ok(APP_IMAGE.files.some((directory) => path.startsWith(`${directory}/`)), `${name}: ${script} is in the image`);
      }
    }
  });

  it('runs the command the Dockerfile names in the app service (the Dockerfile\'s CMD line, read as text)', () => {
    assert.match(readProjectFile('Dockerfile'), new RegExp(`^CMD ${JSON.stringify(APP_IMAGE.cmd).replaceAll(',', ', ').replaceAll('[', '\\[').replaceAll(']', '\\]')}$`, 'm'));
    assert.equal(compose.services.app!.command ?? null, null, 'the app service keeps the image CMD');
  });

  it('installs in the runtime stage every dependency and nothing only dev dependencies need, such as the second Node binary (npm ci --dry-run of its command)', () => {
    const runtimeStage = readProjectFile('Dockerfile').split(/^FROM /m).find((stage) => /^\S+ AS runtime$/m.test(stage))!;
    const flags = /^RUN (?:--mount=\S+ )*npm ci (.*)$/m.exec(runtimeStage)![1]!.split(/\s+/);
    const { dependencies } = JSON.parse(readProjectFile('package.json')) as { dependencies: Record<string, string> };
    const locked = (JSON.parse(readProjectFile('package-lock.json')) as { packages: Record<string, { version: string; dev?: boolean }> }).packages;
    const lockedAs = (path: string) => `${path.split('node_modules/').at(-1)}@${locked[path]!.version}`;
    // By name and version, as npm's dry run reports them: a package locked both under a dev dependency and under a
    // production one (two nested copies of one version) is not dev-only.
    const production = new Set(Object.keys(locked).filter((path) => path !== '' && locked[path]!.dev !== true).map(lockedAs));
    const devOnly = Object.keys(locked).filter((path) => locked[path]!.dev === true).map(lockedAs).filter((pkg) => !production.has(pkg));
    const node = lockedAs('node_modules/node');
    assert.ok(devOnly.includes(node), 'the lockfile marks the node package dev-only');
    assert.ok(packagesNpmCiAdds([]).has(node), 'a plain npm ci would install it');
    const runtime = packagesNpmCiAdds(flags);
    for (const name of Object.keys(dependencies)) assert.ok(runtime.has(lockedAs(`node_modules/${name}`)), `${name} is installed`);
    assert.deepEqual(devOnly.filter((pkg) => runtime.has(pkg)), [], 'dev-only packages installed');
  });

  it('keeps .env (the admin password) out of the build context (.dockerignore lists it, read as text)', () => {
    assert.ok(readProjectFile('.dockerignore').split('\n').includes('.env'));
  });
});

describe('Grafana: the anonymous user can follow a dot to its trace', () => {
  const grafana = resolvedCompose().services.grafana!;

  it('is anonymous with a role that can open Explore, and is not Admin', () => {
    assert.equal(grafana.environment!.GF_AUTH_ANONYMOUS_ENABLED, 'true');
    const role = grafana.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE!;
    assert.ok(GRAFANA_EXPLORE_ROLES.includes(role), `${role} cannot open Explore`);
    assert.notEqual(role, 'Admin');
  });
});
