// The programs e2e runs (the service, Prometheus, Collectors, the trace store): the harness's Program, each logging
// into .e2e/logs/<name>.log.
import { join } from 'node:path';
import { Program as HarnessProgram } from '../harness/process.ts';
import { ROOT } from '../harness/root.ts';

export const WORK = join(ROOT, '.e2e');
export const LOGS = join(WORK, 'logs');

export class Program extends HarnessProgram {
  constructor(name: string, command: string, args: string[], env: Record<string, string> = {}) {
    super(name, command, args, { env, logFile: join(LOGS, `${name}.log`) });
  }
}
