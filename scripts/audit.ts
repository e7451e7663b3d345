// `npm audit` of the production dependencies: fails on a high or critical advisory. Where the registry's audit
// endpoint cannot be reached (as on the project's CI machines), it says so plainly and does not pretend to pass.
import { spawnSync } from 'node:child_process';

interface AuditReport {
  message?: string;
  error?: { summary?: string; code?: string };
  metadata?: { vulnerabilities?: Record<string, number> };
  vulnerabilities?: Record<string, { severity: string; via: unknown[] }>;
}

const npm = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report: AuditReport;
try {
  report = JSON.parse(npm.stdout) as AuditReport;
} catch {
  report = { error: { summary: npm.stderr.trim().split('\n').at(-1) ?? 'no output' } };
}
if (report.metadata?.vulnerabilities === undefined) {
  const reason = report.message ?? report.error?.summary ?? report.error?.code ?? 'no report';
  console.log(`npm audit: NOT RUN: the audit endpoint could not be used here (${reason}).`);
  process.exit(0);
}
const counts = report.metadata.vulnerabilities;
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit (production dependencies): ${JSON.stringify(counts)}`);
if (serious > 0) {
  for (const [name, advisory] of Object.entries(report.vulnerabilities ?? {})) {
    if (advisory.severity === 'high' || advisory.severity === 'critical') console.log(`  ${advisory.severity}: ${name}`);
  }
  process.exit(1);
}
