// The project's root directory, where the tests, the bench and e2e run the service and find the committed files.
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
