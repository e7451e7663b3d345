// The project's root directory, where the tests, the bench and e2e run the service and find the committed files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A committed file's text, by its path from the root. */
export const readProjectFile = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
