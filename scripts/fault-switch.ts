// A client of the service's fault switch (/admin/faults, guarded by the admin token): the load script's spike, the
// tests and e2e all turn faults on and off through it, with the wire names of the admin route's JSON body.

/** The JSON body of POST /admin/faults (src/http/routes/admin.ts validates it). */
interface FaultRequest {
  /** A route the service serves, or '*' for every route. */
  readonly route: string;
  readonly slow_probability: number;
  readonly added_latency_ms: number;
  readonly error_probability?: number;
  readonly duration_seconds: number;
}

export class FaultSwitchClient {
  private readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(baseUrl: string, adminToken: string) {
    this.url = `${baseUrl.replace(/\/$/, '')}/admin/faults`;
    this.headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  }

  /** Puts `fault` in force (replacing any other); throws with the service's answer if it refuses. */
  set(fault: FaultRequest): Promise<unknown> {
    return this.call('POST', JSON.stringify(fault));
  }

  /** Ends the fault in force, if any. */
  clear(): Promise<unknown> {
    return this.call('DELETE');
  }

  /** Runs `work` with `fault` in force, and ends the fault whatever `work` does. */
  async during<T>(fault: FaultRequest, work: () => Promise<T>): Promise<T> {
    await this.set(fault);
    try {
      return await work();
    } finally {
      await this.clear();
    }
  }

  /** The fault in force, as the service describes it. */
  state(): Promise<unknown> {
    return this.call('GET');
  }

  private async call(method: string, body?: string): Promise<unknown> {
    const response = await fetch(this.url, { method, headers: this.headers, body: body ?? null, signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /admin/faults answered ${response.status}: ${text}`);
    return JSON.parse(text) as unknown;
  }
}
