// The harness's one child-process class, on small node programs: what every test, the bench and e2e rely on when a
// peer starts, hangs or dies.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Program } from '../harness/process.ts';

/** `node -e <source>` as a Program; `setInterval` keeps it running until it is signalled. */
const node = (name: string, source: string, logFile?: string) => new Program(name, process.execPath, ['-e', source], { logFile });

describe('harness Program', { timeout: 20_000 }, () => {
  it('is ready on a log line, keeps JSON lines parsed and other lines raw, and stops on SIGTERM', async () => {
    const program = node('logger', `console.log('plain text'); console.error(JSON.stringify({ msg: 'listening', port: 1234 })); setInterval(() => {}, 1000);`);
    const listening = await program.waitForLine((line) => line.msg === 'listening');
    assert.equal(listening.port, 1234);
    assert.ok(program.logs.some((line) => line.msg === 'plain text' && line.level === 'raw'));
    assert.deepEqual(await program.stop(), { code: null, signal: 'SIGTERM' });
  });

  it('sends SIGKILL to a program that ignores SIGTERM, once the timeout is over', async () => {
    const program = node('stubborn', `process.on('SIGTERM', () => console.log('SIGTERM ignored')); console.log('up'); setInterval(() => {}, 1000);`);
    await program.waitForLine((line) => line.msg === 'up');
    const exit = await program.stop(500);
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(program.logs.some((line) => line.msg === 'SIGTERM ignored'), 'SIGTERM came first');
  });

  it('kills a program that is not ready in time and says so with its output', async () => {
    const program = node('never-ready', `console.log('starting'); setInterval(() => {}, 1000);`);
    await assert.rejects(program.waitReady('http://127.0.0.1:9/', 500), /^Error: never-ready not ready at http:\/\/127\.0\.0\.1:9\/ within 500 ms \(exit code null, signal SIGKILL\)\nstarting$/);
    assert.equal((await program.exit).signal, 'SIGKILL', 'nothing outlives a failed start');
  });

  it('fails at once, with the exit code, when the program exits before it is ready', async () => {
    const started = Date.now();
    await assert.rejects(node('crashing', `console.error('bad config'); process.exit(78);`).waitForLine(() => false, 10_000), /crashing exited before it was ready \(exit code 78, signal null\)\nbad config/);
    assert.ok(Date.now() - started < 5000, 'not after the 10 s timeout');
  });

  it('writes every output line to its log file and ends it with the program', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'process-test-'));
    try {
      const logFile = join(dir, 'program.log');
      const program = node('logging', `console.log('one'); console.error('two'); console.log('three');`, logFile);
      assert.equal((await program.exit).code, 0);
      const lines = readFileSync(logFile, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'every line ends with a newline');
      // stdout and stderr may interleave; within one stream the order holds.
      assert.deepEqual(lines.filter((line) => line !== 'two'), ['one', 'three']);
      assert.ok(lines.includes('two'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
