// Runs the real Prometheus (v3, built from its Go module by scripts/peers.sh and cached outside the clone) with
// exemplar storage on, scraping the service over OpenMetrics, on a free loopback port.
import { type ChildProcess, spawn } from 'node:child_process';
import { ROOT } from './root.ts';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import { peerDir } from './peers.ts';
import { stopChild } from './process.ts';


/** The directory holding prometheus and promtool: $PROMETHEUS_DIR, else the cached build (built if missing). */
export function prometheusDir(): string {
  return process.env.PROMETHEUS_DIR ?? peerDir('prometheus');
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A Prometheus process of its own, read through the project's one API client. */
export class Prometheus extends PrometheusApi {
  private readonly child: ChildProcess;
  private readonly dataDir: string;
  output = '';

  private constructor(url: string, child: ChildProcess, dataDir: string) {
    super(url);
    this.child = child;
    this.dataDir = dataDir;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /**
   * Starts Prometheus scraping `target` (host:port) every `scrapeInterval`; `exemplarStorage` false leaves the flag
   * off; `scrapeProtocols` replaces OpenMetrics-first (e.g. text only, as a misconfigured job would).
   */
  static async start(options: { target: string; scrapeInterval?: string; exemplarStorage?: boolean; scrapeProtocols?: string[] }): Promise<Prometheus> {
    const dataDir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
    const configFile = join(dataDir, 'prometheus.yml');
    writeFileSync(
      configFile,
      [
        'global:',
        `  scrape_interval: ${options.scrapeInterval ?? '1s'}`,
        `  evaluation_interval: ${options.scrapeInterval ?? '1s'}`,
        // The committed recording and alerting rules, so the tests evaluate the very rules Compose loads.
        'rule_files:',
        `  - ${join(ROOT, 'prometheus/rules.yml')}`,
        'storage:',
        '  exemplars:',
        '    max_exemplars: 100000',
        'scrape_configs:',
        '  - job_name: exemplar-demo',
        `    scrape_protocols: [${(options.scrapeProtocols ?? ['OpenMetricsText1.0.0', 'PrometheusText0.0.4']).join(', ')}]`,
        '    static_configs:',
        `      - targets: ['${options.target}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const flags = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.exemplarStorage === false ? [] : ['--enable-feature=exemplar-storage']),
    ];
    const child = spawn(join(prometheusDir(), 'prometheus'), flags, { stdio: ['ignore', 'pipe', 'pipe'] });
    const prometheus = new Prometheus(`http://127.0.0.1:${port}`, child, dataDir);
    await prometheus.waitUntilReady();
    return prometheus;
  }

  private async waitUntilReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Prometheus did not become ready:\n${this.output}`);
  }

  /** Waits until at least `count` more scrapes of the target have happened. */
  async waitForScrapes(count: number, timeoutMs = 30_000): Promise<void> {
    const scrapes = async () => Number((await this.query('sum(count_over_time(up[1h]))'))[0]?.value[1] ?? 0);
    const target = (await scrapes()) + count;
    const deadline = Date.now() + timeoutMs;
    while ((await scrapes()) < target) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} scrapes within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 15_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
