// Loki's file (loki/loki.yaml) and its place in the stack. Loki cannot run here: its keys are checked against a
// transcription of its config structs at the pinned tag (Loki parses the file strictly, so an unknown key would
// stop it), and its paths, port and labels against docker-compose.yml, the Collector and the service.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { resolvedCompose } from '../harness/compose.ts';
import { readProjectFile } from '../harness/root.ts';

const loki = parse(readProjectFile('loki/loki.yaml')) as Record<string, any>;
const compose = resolvedCompose();

/**
 * Every key loki/loki.yaml uses, with the Go file of grafana/loki v3.7.6 (commit 5003600d) whose struct field
 * declares it (`yaml:"..."`), read there by hand. `[]` marks the entries of a list. A transcription: it is only as
 * right as that reading; what it catches is a key added to the file without being looked up.
 */
const LOKI_3_7_6_KEYS: Readonly<Record<string, string>> = {
  auth_enabled: 'pkg/loki/loki.go',
  server: 'pkg/loki/loki.go',
  'server.http_listen_port': 'vendor/github.com/grafana/dskit/server/server.go',
  'server.grpc_listen_port': 'vendor/github.com/grafana/dskit/server/server.go',
  'server.log_level': 'vendor/github.com/grafana/dskit/server/server.go',
  common: 'pkg/loki/loki.go',
  'common.path_prefix': 'pkg/loki/common/common.go',
  'common.replication_factor': 'pkg/loki/common/common.go',
  'common.instance_addr': 'pkg/loki/common/common.go',
  'common.ring': 'pkg/loki/common/common.go',
  'common.ring.kvstore': 'pkg/util/ring/ring_config.go',
  'common.ring.kvstore.store': 'vendor/github.com/grafana/dskit/kv/client.go',
  'common.storage': 'pkg/loki/common/common.go',
  'common.storage.filesystem': 'pkg/loki/common/common.go',
  'common.storage.filesystem.chunks_directory': 'pkg/loki/common/common.go',
  'common.storage.filesystem.rules_directory': 'pkg/loki/common/common.go',
  schema_config: 'pkg/loki/loki.go',
  'schema_config.configs': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].from': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].store': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].object_store': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].schema': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].index': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].index.prefix': 'pkg/storage/config/schema_config.go',
  'schema_config.configs[].index.period': 'pkg/storage/config/schema_config.go',
  limits_config: 'pkg/loki/loki.go',
  'limits_config.retention_period': 'pkg/validation/limits.go',
  'limits_config.otlp_config': 'pkg/validation/limits.go',
  'limits_config.otlp_config.resource_attributes': 'pkg/loghttp/push/otlp_config.go',
  'limits_config.otlp_config.resource_attributes.ignore_defaults': 'pkg/loghttp/push/otlp_config.go',
  'limits_config.otlp_config.resource_attributes.attributes_config': 'pkg/loghttp/push/otlp_config.go',
  'limits_config.otlp_config.resource_attributes.attributes_config[].action': 'pkg/loghttp/push/otlp_config.go',
  'limits_config.otlp_config.resource_attributes.attributes_config[].attributes': 'pkg/loghttp/push/otlp_config.go',
  'limits_config.otlp_config.severity_text_as_label': 'pkg/loghttp/push/otlp_config.go',
  chunk_store_config: 'pkg/loki/loki.go',
  'chunk_store_config.chunk_cache_config': 'pkg/storage/config/store.go',
  'chunk_store_config.chunk_cache_config.embedded_cache': 'pkg/storage/chunk/cache/cache.go',
  'chunk_store_config.chunk_cache_config.embedded_cache.enabled': 'pkg/storage/chunk/cache/embeddedcache.go',
  'chunk_store_config.chunk_cache_config.embedded_cache.max_size_mb': 'pkg/storage/chunk/cache/embeddedcache.go',
  query_range: 'pkg/loki/loki.go',
  'query_range.results_cache': 'pkg/querier/queryrange/queryrangebase/roundtrip.go',
  'query_range.results_cache.cache': 'pkg/storage/chunk/cache/resultscache/config.go',
  'query_range.results_cache.cache.embedded_cache': 'pkg/storage/chunk/cache/cache.go',
  'query_range.results_cache.cache.embedded_cache.enabled': 'pkg/storage/chunk/cache/embeddedcache.go',
  'query_range.results_cache.cache.embedded_cache.max_size_mb': 'pkg/storage/chunk/cache/embeddedcache.go',
  ingester: 'pkg/loki/loki.go',
  'ingester.wal': 'pkg/ingester/ingester.go',
  'ingester.wal.replay_memory_ceiling': 'pkg/ingester/wal.go',
  compactor: 'pkg/loki/loki.go',
  'compactor.working_directory': 'pkg/compactor/config.go',
  'compactor.retention_enabled': 'pkg/compactor/config.go',
  'compactor.delete_request_store': 'pkg/compactor/config.go',
  analytics: 'pkg/loki/loki.go',
  'analytics.reporting_enabled': 'pkg/analytics/reporter.go',
};

/** The key paths of a parsed YAML document, list entries as `[]`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((entry) => keyPaths(entry, `${prefix}[]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return [path, ...keyPaths(child, path)];
  });
}

describe('Loki file (Loki cannot run here: checked against its config structs at v3.7.6 and against the stack)', () => {
  it('uses only keys of the transcription of Loki 3.7.6 config structs, and the transcription only keys it uses (transcription check)', () => {
    const used = [...new Set(keyPaths(loki))].sort();
    assert.deepEqual(used, Object.keys(LOKI_3_7_6_KEYS).sort());
  });

  it('keeps every directory on the named volume the Loki service mounts at the path prefix', () => {
    const volume = compose.services.loki!.volumes!.find((mount) => mount.target === loki.common.path_prefix);
    assert.equal(volume?.type, 'volume', `a named volume at ${loki.common.path_prefix}`);
    const directories = [loki.common.storage.filesystem.chunks_directory, loki.common.storage.filesystem.rules_directory, loki.compactor.working_directory];
    for (const directory of directories) assert.ok(String(directory).startsWith(`${loki.common.path_prefix}/`), directory);
  });

  it("listens where the Collector's logs exporter sends (Loki's OTLP endpoint, /otlp)", () => {
    const collector = parse(readProjectFile('otel-collector/config.yaml')) as Record<string, any>;
    assert.equal(collector.exporters['otlp_http/loki'].endpoint, `http://loki:${loki.server.http_listen_port}/otlp`);
    assert.deepEqual(collector.service.pipelines.logs.exporters, ['otlp_http/loki']);
  });

  it('indexes only the service name and the level: every other attribute is structured metadata (bounded streams)', () => {
    const otlp = loki.limits_config.otlp_config;
    assert.equal(otlp.resource_attributes.ignore_defaults, true, "Loki's default list would index more resource attributes");
    assert.deepEqual(otlp.resource_attributes.attributes_config, [{ action: 'index_label', attributes: ['service.name'] }]);
    assert.equal(otlp.severity_text_as_label, true);
    assert.equal(otlp.log_attributes, undefined, 'log attributes (trace_id, route...) keep the default: structured metadata');
  });
});
