// What the command-line scripts share: flags declared once (the parser, the values and the usage text all come from
// that declaration), clear errors naming the flag, the exit codes of a script's main, and a duration for people.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the command explains to the user in one sentence, with its own exit code. */
export class Explained extends Error {
  override name = 'Explained';
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** One command-line flag: what the usage says of it and how its value is read. */
export interface Flag<T> {
  /** The argument's name in the usage (URL, N, S); none for a switch such as --json. */
  readonly arg?: string;
  /** The usage's words for it: meaning, range, default. */
  readonly description: string;
  /** Its value from the command line (undefined when not given); a bad one throws naming --`name`. */
  read(given: string | boolean | undefined, name: string, env: NodeJS.ProcessEnv): T;
}

type Flags = Readonly<Record<string, Flag<unknown>>>;
export type FlagValues<F extends Flags> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };

const defaultWords = (value: string | number | undefined, described: string | undefined): string =>
  value !== undefined ? ` (default ${value})` : described !== undefined ? ` (default: ${described})` : '';

/** A switch: true when given. */
export function switchFlag(description: string): Flag<boolean> {
  return { description, read: (given) => given === true };
}

interface TextOptions {
  /** Turns a given (or default) value into the one used, or throws naming the flag. */
  readonly check?: (value: string, name: string) => string;
  /** Where the default comes from when it is not a fixed value, in words. */
  readonly defaultText?: string;
  /** The environment variable read when the flag is not given; empty means unset. */
  readonly env?: string;
}

/** A text flag, with a default or else undefined when not given. */
export function textFlag(arg: string, help: string, options: TextOptions & { readonly default: string }): Flag<string>;
export function textFlag(arg: string, help: string, options?: TextOptions): Flag<string | undefined>;
export function textFlag(arg: string, help: string, options: TextOptions & { readonly default?: string } = {}): Flag<string | undefined> {
  const { check, defaultText, env } = options;
  return {
    arg,
    description: `${help}${defaultWords(options.default ?? (env === undefined ? undefined : `$${env}`), defaultText)}`,
    read(given, name, environment) {
      const value = (given as string | undefined) ?? options.default ?? (env === undefined ? undefined : environment[env]);
      if (value === undefined || (env !== undefined && value === '')) return undefined;
      return check === undefined ? value : check(value, name);
    },
  };
}

/** One of a few words. */
export function choiceFlag<const Choice extends string>(choices: readonly Choice[], help: string, fallback: Choice): Flag<Choice> {
  return {
    arg: choices.join('|'),
    description: `${help}${defaultWords(fallback, undefined)}`,
    read(given, name) {
      const value = (given as string | undefined) ?? fallback;
      if (!choices.includes(value as Choice)) throw new UsageError(`--${name} must be ${choices.join(' or ')}, got "${value}"`);
      return value as Choice;
    },
  };
}

interface Range {
  readonly min: number;
  readonly max: number;
}

/** The error of a number flag outside [min, max]. */
export const rangeError = (name: string, given: string, { min, max }: Range): UsageError =>
  new UsageError(`--${name} must be a number from ${min} to ${max}, got "${given}"`);

/** A number within [min, max], with a fixed default, or else undefined when not given (the caller computes it). */
export function numberFlag(arg: string, help: string, options: Range & { readonly default: number }): Flag<number> & Range;
export function numberFlag(arg: string, help: string, options: Range & { readonly defaultText: string }): Flag<number | undefined> & Range;
export function numberFlag(arg: string, help: string, options: Range & { readonly default?: number; readonly defaultText?: string }): Flag<number | undefined> & Range {
  return {
    arg,
    min: options.min,
    max: options.max,
    description: `${help}, ${options.min}-${options.max}${defaultWords(options.default, options.defaultText)}`,
    read(given, name) {
      if (given === undefined) return options.default;
      const number = Number(given);
      if (!Number.isFinite(number) || number < options.min || number > options.max) throw rangeError(name, String(given), options);
      return number;
    },
  };
}

/** The flags' values from `argv`; unknown flags and bad values are a UsageError naming the flag. */
export function parseFlags<F extends Flags>(argv: string[], flags: F, env: NodeJS.ProcessEnv = process.env): FlagValues<F> {
  let given: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, { type: flag.arg === undefined ? ('boolean' as const) : ('string' as const) }]));
    given = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof given;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, flag.read(given[name], name, env)])) as FlagValues<F>;
}

/** A command's usage: its synopsis, then one aligned line a flag (--name ARG  description). */
export function usage(synopsis: string, flags: Flags): string {
  const names = Object.entries(flags).map(([name, flag]) => (flag.arg === undefined ? `--${name}` : `--${name} ${flag.arg}`));
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [synopsis, ...Object.values(flags).map((flag, index) => `  ${names[index]!.padEnd(width)}${flag.description}`)].join('\n');
}

export const milliseconds = (seconds: number): string => (Number.isNaN(seconds) ? '-' : `${(seconds * 1000).toFixed(0)} ms`);

/** `text` as a terminal hyperlink to `url` (OSC 8): terminals that know it show the text, others print the text alone. */
export const terminalLink = (url: string, text: string): string => `\x1b]8;;${url}\x1b\\${text}\x1b]8;;\x1b\\`;

/**
 * Runs a script's main: --help prints the usage, a UsageError exits 2 with its message and the usage, an Explained
 * error exits with its own code and message.
 */
export function run(main: () => Promise<number>, usageText: string): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usageText);
    process.exit(0);
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`${error.message}\n\n${usageText}`);
        process.exit(2);
      }
      if (error instanceof Explained) {
        console.error(error.message);
        process.exit(error.exitCode);
      }
      console.error(error);
      process.exit(1);
    },
  );
}
