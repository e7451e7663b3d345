// The stack's memory budget, from docker-compose.yml and the Collector's config: every service has a limit, the limits
// of what `make up` and `make load` start add up to at most 2 GiB (a default Docker Desktop VM has more), each Go
// program's GOMEMLIMIT is below its limit, the service's V8 heap is sized from its limit, and the Collector's
// memory_limiter fits inside its container. Peak RSS under load is measured by e2e (e2e/memory.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { resolvedCompose } from '../harness/compose.ts';

// As Compose resolves it (every profile): mem_limit in bytes, variables filled in.
const compose = resolvedCompose();
const MIB = 2 ** 20;

/** GOMEMLIMIT as the Go runtime reads it (runtime/debug: B, KiB, MiB, GiB, TiB). */
function goBytes(size: string): number {
  const match = /^(\d+)(B|KiB|MiB|GiB|TiB)$/.exec(size);
  if (match === null) throw new Error(`${size} is not a GOMEMLIMIT value`);
  return Number(match[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(match[2]!);
}
const collectorConfig = parse(readFileSync(new URL('../otel-collector/config.yaml', import.meta.url), 'utf8')) as {
  processors: { memory_limiter: { limit_mib: number; spike_limit_mib: number } };
};

const limitOf = (name: string) => Number(compose.services[name]!.mem_limit);
/** The programs written in Go: Prometheus, the Collector, Tempo, Loki and Grafana. */
const GO_IMAGES = /^(prom\/prometheus|otel\/opentelemetry-collector-contrib|grafana\/tempo|grafana\/loki|grafana\/grafana):/;

describe('memory limits (docker-compose.yml)', () => {
  it('every service has a mem_limit', () => {
    for (const [name, service] of Object.entries(compose.services)) assert.ok(service.mem_limit, `${name} has no mem_limit`);
  });

  it('the limits of `make up` and `make load` add up to at most 2 GiB', () => {
    const started = Object.entries(compose.services).filter(([, service]) => service.profiles === undefined || service.profiles.includes('load'));
    const totalMib = started.reduce((sum, [name]) => sum + limitOf(name), 0) / MIB;
    assert.ok(totalMib <= 2048, `${totalMib} MiB`);
  });

  it('every Go program has a GOMEMLIMIT of at most 80% of its limit', () => {
    const goServices = Object.entries(compose.services).filter(([, service]) => GO_IMAGES.test(service.image ?? ''));
    assert.deepEqual(goServices.map(([name]) => name).sort(), ['grafana', 'loki', 'otel-collector', 'otel-sampler-1', 'otel-sampler-2', 'prometheus', 'prometheus-longterm', 'tempo']);
    for (const [name, service] of goServices) {
      const goMemLimit = service.environment?.GOMEMLIMIT;
      assert.ok(goMemLimit, `${name} has no GOMEMLIMIT`);
      assert.ok(goBytes(goMemLimit) <= 0.8 * limitOf(name), `${name}: GOMEMLIMIT ${goMemLimit} above 80% of ${service.mem_limit}`);
    }
  });

  it("the service's V8 heap is a share of its container's limit", () => {
    // Node 24 sizes the heap from the cgroup limit; the flag makes the old space's share explicit (half).
    const share = /--max-old-space-size-percentage=(\d+)/.exec(compose.services.app!.environment?.NODE_OPTIONS ?? '');
    assert.ok(share, 'NODE_OPTIONS sets --max-old-space-size-percentage');
    assert.ok(Number(share[1]) > 0 && Number(share[1]) <= 60, `${share[1]}% leaves room for the young generation and native memory`);
  });

  // config.yaml's memory_limiter runs in the single Collector and, merged under sampler.yaml (which has no processors
  // of its own), in each sampler of the scale profile.
  for (const service of ['otel-collector', 'otel-sampler-1', 'otel-sampler-2']) {
    it(`${service}: config.yaml's memory_limiter fits its container`, () => {
      const { limit_mib: limitMib, spike_limit_mib: spikeMib } = collectorConfig.processors.memory_limiter;
      const containerMib = limitOf(service) / MIB;
      // memory_limiter's README (v0.161.0): the process stays about 50 MiB above limit_mib; spike about 20% of it.
      assert.ok(limitMib + 50 <= containerMib, `limit_mib ${limitMib} + 50 MiB over the ${containerMib} MiB limit`);
      assert.ok(spikeMib > 0 && spikeMib <= 0.25 * limitMib, `spike_limit_mib ${spikeMib} is not about 20% of ${limitMib}`);
      assert.ok(goBytes(compose.services[service]!.environment!.GOMEMLIMIT!) / MIB >= limitMib - spikeMib, 'GOMEMLIMIT below the soft limit would make the GC fight memory_limiter');
      // Far below the container, it refuses data the container could hold: at most 60 MiB of headroom left unused.
      assert.ok(limitMib + 60 >= containerMib, `limit_mib ${limitMib} leaves ${containerMib - limitMib} MiB of the ${containerMib} MiB limit unused`);
    });
  }
});
