// Stopping a child process the way every harness here does: SIGTERM (so the service flushes its spans), then
// SIGKILL if it is still running after `timeoutMs`, so no test, benchmark or e2e run can hang on a stuck peer.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}
