// Waiting for what other programs make true (a scrape, a stored trace, an alert): asked again at an interval until
// it answers or the time is up. Readiness of a program and spans at a receiver are waited for on their own events
// instead (harness/process.ts, harness/otlp-receiver.ts).
import { setTimeout as sleep } from 'node:timers/promises';

/** `probe()`'s first answer other than undefined, asked every `intervalMs` for up to `timeoutMs`; else undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined>, options: { readonly timeoutMs: number; readonly intervalMs: number }): Promise<T | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined || Date.now() > deadline) return answer;
    await sleep(options.intervalMs);
  }
}
