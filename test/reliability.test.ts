// Two minutes of load while the OTLP endpoint is down at start, comes up, goes down mid-run and comes back.
// The figures it prints are those of docs/reliability.md.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAST_ENV } from '../harness/fast-path.ts';
import { OtlpReceiver } from '../harness/otlp-receiver.ts';
import { freePort } from '../harness/process.ts';
import { ServiceProcess, startServiceWithReceiver } from '../harness/service.ts';
import { quantile } from '../scripts/stats.ts';

const PHASE_SECONDS = 30;
const PHASES = ['down at start', 'up', 'down mid-run', 'back up'] as const;

interface PhaseFigures {
  phase: string;
  served: number;
  failed: number;
  p99Ms: number;
  peakRssMb: number;
  spansReceived: number;
}

describe('reliability: the OTLP endpoint down at start and mid-run, under two minutes of load', () => {
  it('keeps serving without waiting on export, bounds memory, rate-limits warnings, resumes export', async () => {
    const port = await freePort();
    const service = await ServiceProcess.start({ ...FAST_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'reliability-test' });
    let receiver: OtlpReceiver | undefined;
    const figures: PhaseFigures[] = [];
    try {
      for (const [index, phase] of PHASES.entries()) {
        // Counting, not decoding: this process also drives the load, and decoding ~15,000 spans/s would slow it.
        if (phase === 'up' || phase === 'back up') receiver = await OtlpReceiver.start('127.0.0.1', port, 'count');
        if (phase === 'down mid-run') receiver!.kill();
        const receivedBefore = receiver?.received ?? 0;
        const latencies: number[] = [];
        let failed = 0;
        let peakRssMb = 0;
        const until = Date.now() + PHASE_SECONDS * 1000;
        // Read from /proc, synchronously: a sampling request of its own could outlive the phase and race shutdown.
        const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, service.rssMb())), 2000);
        await Promise.all(
          Array.from({ length: 16 }, async (_, worker) => {
            while (Date.now() < until) {
              const began = performance.now();
              try {
                const response = await fetch(`${service.baseUrl}/api/${worker % 2 === 0 ? 'users' : 'orders'}`);
                await response.arrayBuffer();
                if (response.status === 200) latencies.push(performance.now() - began);
                else failed += 1;
              } catch {
                failed += 1;
              }
            }
          }),
        );
        clearInterval(sampler);
        figures.push({
          phase: `${index + 1}. ${phase}`,
          served: latencies.length,
          failed,
          p99Ms: Number(quantile(latencies, 0.99).toFixed(1)),
          peakRssMb: Math.round(peakRssMb),
          spansReceived: phase === 'up' || phase === 'back up' ? receiver!.received - receivedBefore : 0,
        });
      }
      // Export resumed after the outage, and the service said so (asserted below on every line it wrote).
      await service.waitForLine((line) => line.msg === 'span export resumed', 15_000);
    } finally {
      await service.stop();
      await receiver?.stop();
    }
    console.table(figures);
    const warnings = service.logs.filter((line) => String(line.msg).startsWith('span export failing'));
    const resumed = service.logs.filter((line) => line.msg === 'span export resumed');
    console.log(`reliability: ${warnings.length} export warnings and ${resumed.length} "resumed" lines in ${PHASES.length * PHASE_SECONDS} s`);

    for (const phase of figures) {
      assert.equal(phase.failed, 0, `${phase.phase}: no failed request`);
      // The exporter's timeout is 10 s: a request that waited on export would take seconds, not milliseconds.
      assert.ok(phase.p99Ms < 250, `${phase.phase}: p99 ${phase.p99Ms} ms`);
    }
    assert.ok(figures[1]!.spansReceived > 0 && figures[3]!.spansReceived > 0, 'export resumes each time the endpoint is back');
    const [, healthy, outage] = figures;
    // The span queue is bounded (4096 spans), so a long outage cannot grow memory.
    assert.ok(outage!.peakRssMb - healthy!.peakRssMb < 60, `RSS ${healthy!.peakRssMb} MB healthy, ${outage!.peakRssMb} MB in the outage`);
    // At most one warning per 30 s of failing export, plus one as each outage starts (reconnecting can stretch the
    // failing time into the next phase): at most 6 here, where tens of thousands of batches failed.
    assert.ok(warnings.length >= 2 && warnings.length <= 6, `${warnings.length} warnings`);
    assert.ok(resumed.length >= 1, 'a "resumed" line after the outage');
  });
});

describe('reliability: scrapes during heavy load', () => {
  it('serves every request while /metrics is scraped twenty times a second', async () => {
    // Tracing on and every request an exemplar, so each scrape runs the exemplar rule over many exemplars.
    const { service, stop } = await startServiceWithReceiver({ EXEMPLAR_POLICY: 'always' }, 'count');
    try {
      const until = Date.now() + 5000;
      let scrapes = 0;
      let failedScrapes = 0;
      const scraper = (async () => {
        while (Date.now() < until) {
          const response = await fetch(`${service.baseUrl}/metrics`, { headers: { accept: 'application/openmetrics-text' } });
          if ((await response.text()).endsWith('# EOF\n')) scrapes += 1;
          else failedScrapes += 1;
          await sleep(50);
        }
      })();
      const results = await Promise.all(
        Array.from({ length: 16 }, async () => {
          let ok = 0;
          let failed = 0;
          while (Date.now() < until) {
            const response = await fetch(`${service.baseUrl}/api/users`).catch(() => undefined);
            await response?.arrayBuffer();
            if (response?.status === 200) ok += 1;
            else failed += 1;
          }
          return { ok, failed };
        }),
      );
      await scraper;
      const served = results.reduce((sum, r) => sum + r.ok, 0);
      const failed = results.reduce((sum, r) => sum + r.failed, 0);
      console.log(`scrapes under load: ${scrapes} complete scrapes, ${served} requests served, ${failed} failed`);
      assert.equal(failed, 0);
      assert.equal(failedScrapes, 0);
      assert.ok(scrapes >= 50, `${scrapes} scrapes in 5 s`);
    } finally {
      await stop();
    }
  });
});
