// The scripts' flags, declared once: the usage --help prints lists each declared flag with its words, and a bad
// value is refused naming its flag.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Flag, parseFlags, UsageError } from '../scripts/cli.ts';
import { DOCTOR_FLAGS, LIST_FLAGS } from '../scripts/exemplars.ts';
import { LOAD_FLAGS } from '../scripts/load.ts';
import { runNode } from '../harness/service.ts';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const SCRIPTS: [string, string[], Readonly<Record<string, Flag<unknown>>>][] = [
  ['load', ['scripts/load.ts'], LOAD_FLAGS],
  ['exemplars', ['scripts/exemplars.ts'], LIST_FLAGS],
  ['exemplars doctor', ['scripts/exemplars.ts', 'doctor'], DOCTOR_FLAGS],
];

describe('script flags', () => {
  for (const [command, script, flags] of SCRIPTS) {
    it(`npm run ${command} -- --help lists every declared flag with its argument and words`, async () => {
      const help = await runNode([...script, '--help'], {});
      assert.equal(help.code, 0, help.output);
      for (const [name, flag] of Object.entries(flags)) {
        const flagLine = `^  --${escape(name)}${flag.arg === undefined ? '' : ` ${escape(flag.arg)}`} {2,}${escape(flag.description)}$`;
        assert.match(help.stdout, new RegExp(flagLine, 'm'), `--${name}`);
      }
    });

    it(`npm run ${command} refuses a bad number naming its flag, with its range`, () => {
      const numbers = Object.entries(flags).filter(([, flag]) => /, \d/.test(flag.description));
      assert.ok(numbers.length > 0);
      for (const [name] of numbers) {
        assert.throws(() => parseFlags([`--${name}`, 'many'], flags), (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, new RegExp(`^--${escape(name)} must be a number from [\\d.]+ to \\d+, got "many"$`));
          return true;
        });
      }
    });
  }

  it('reads the defaults the usage names, and what is given', () => {
    const defaults = parseFlags([], LOAD_FLAGS, {});
    assert.deepEqual(
      { duration: defaults.duration, rate: defaults.rate, json: defaults.json, token: defaults['admin-token'], url: defaults['base-url'] },
      { duration: 120, rate: 20, json: false, token: undefined, url: 'http://127.0.0.1:8080' },
    );
    const given = parseFlags(['--duration', '30', '--json', '--base-url', 'http://127.0.0.1:9/'], LOAD_FLAGS, { ADMIN_TOKEN: 'secret' });
    assert.deepEqual(
      { duration: given.duration, json: given.json, token: given['admin-token'], url: given['base-url'] },
      { duration: 30, json: true, token: 'secret', url: 'http://127.0.0.1:9' },
    );
  });

  it('refuses an unknown flag, a word outside its choices and a malformed metric name, naming the flag', () => {
    assert.throws(() => parseFlags(['--rat', '5'], LOAD_FLAGS), { name: 'UsageError', message: /'--rat'/ });
    assert.throws(() => parseFlags(['--trace-api', 'zipkin'], DOCTOR_FLAGS), { name: 'UsageError', message: '--trace-api must be tempo or jaeger, got "zipkin"' });
    assert.throws(() => parseFlags(['--metric', '1a'], DOCTOR_FLAGS), { name: 'UsageError', message: '--metric must be a metric name, got "1a"' });
    assert.throws(() => parseFlags(['--prometheus-url', 'prometheus:9090'], LIST_FLAGS), { name: 'Explained', message: '--prometheus-url is not a valid http(s) URL: "prometheus:9090".' });
  });
});
