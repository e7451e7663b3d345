// Runs the real Prometheus (v3, built from its Go module by scripts/peers.sh and cached outside the clone) with
// exemplar storage on, scraping the service over OpenMetrics, on a free loopback port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PrometheusApi } from '../scripts/prometheus-api.ts';
import { eventually } from './eventually.ts';
import { peerDir } from './peers.ts';
import { freePort, Program } from './process.ts';
import { readProjectFile, ROOT } from './root.ts';

/** The directory holding prometheus and promtool: $PROMETHEUS_DIR, else the cached build (built if missing). */
export function prometheusDir(): string {
  return process.env.PROMETHEUS_DIR ?? peerDir('prometheus');
}

/** A Prometheus process of its own, read through the project's one API client. */
export class Prometheus extends PrometheusApi {
  private readonly program: Program;
  private readonly dataDir: string;

  private constructor(url: string, program: Program, dataDir: string) {
    super(url);
    this.program = program;
    this.dataDir = dataDir;
  }

  /**
   * Starts Prometheus scraping `target` (host:port) every `scrapeInterval`; `exemplarStorage` false leaves the flag
   * off; `scrapeProtocols` replaces OpenMetrics-first (e.g. text only, as a misconfigured job would).
   */
  static async start(options: { target: string; scrapeInterval?: string; exemplarStorage?: boolean; scrapeProtocols?: string[] }): Promise<Prometheus> {
    const dataDir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
    const configFile = join(dataDir, 'prometheus.yml');
    const interval = options.scrapeInterval ?? '1s';
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval },
      // The committed recording and alerting rules, so the tests evaluate the very rules Compose loads.
      rule_files: [join(ROOT, 'prometheus/rules.yml')],
      // The committed storage settings (retention, exemplar buffer): a key this release does not know stops it here.
      storage: (parse(readProjectFile('prometheus/prometheus.yml')) as { storage: unknown }).storage,
      scrape_configs: [
        {
          job_name: 'exemplar-demo',
          scrape_protocols: options.scrapeProtocols ?? ['OpenMetricsText1.0.0', 'PrometheusText0.0.4'],
          static_configs: [{ targets: [options.target] }],
        },
      ],
    };
    writeFileSync(configFile, stringify(config));
    const port = await freePort();
    const flags = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.exemplarStorage === false ? [] : ['--enable-feature=exemplar-storage']),
    ];
    const prometheus = new Prometheus(`http://127.0.0.1:${port}`, new Program('prometheus', join(prometheusDir(), 'prometheus'), flags), dataDir);
    await prometheus.program.waitReady(`${prometheus.url}/-/ready`, 20_000).catch(async (error: unknown) => {
      await prometheus.stop();
      throw error;
    });
    return prometheus;
  }

  /** Waits until at least `count` more scrapes of the target have happened. */
  async waitForScrapes(count: number, timeoutMs = 30_000): Promise<void> {
    const scrapes = async () => Number((await this.query('sum(count_over_time(up[1h]))'))[0]?.value[1] ?? 0);
    const target = (await scrapes()) + count;
    const reached = await eventually(async () => ((await scrapes()) >= target) || undefined, { timeoutMs, intervalMs: 200 });
    if (reached === undefined) throw new Error(`fewer than ${count} scrapes within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await this.program.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
