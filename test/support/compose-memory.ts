// Memory sizes as the stack's programs read them: Compose's mem_limit (docker/go-units RAMInBytes: binary multiples,
// any case, optional "b") and the Go runtime's GOMEMLIMIT (runtime/debug: B, KiB, MiB, GiB, TiB).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const MIB = 2 ** 20;

export interface ComposeMemoryService {
  image?: string;
  profiles?: string[];
  mem_limit?: string;
  environment?: Record<string, string>;
}

export function composeServices(): Record<string, ComposeMemoryService> {
  return (parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, ComposeMemoryService> }).services;
}

export function composeBytes(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(size);
  if (match === null) throw new Error(`${size} is not a Compose size`);
  return Number(match[1]) * 1024 ** ' kmgt'.indexOf(match[2]!.toLowerCase() || ' ');
}

export function goBytes(size: string): number {
  const match = /^(\d+)(B|KiB|MiB|GiB|TiB)$/.exec(size);
  if (match === null) throw new Error(`${size} is not a GOMEMLIMIT value`);
  return Number(match[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(match[2]!);
}
