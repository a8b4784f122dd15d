/** The text view of a `raysl check-ports` report (core/port-check.ts decides; this only lays it out). */
import type { CheckPortsReport } from '../core/port-check.js';
import { table } from './status-view.js';

/** The colours the view uses; chalk's instance is one, and a test passes plain functions. */
export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
}

/** The report as the lines printed on stdout. */
export function checkPortsLines(r: CheckPortsReport, color: Paint): string[] {
  const out: string[] = [];
  const where = r.scope.nodelist ?? (r.scope.partition !== undefined ? `partition ${r.scope.partition}` : 'all nodes');
  out.push(
    `${color.bold('raysl check-ports')}: ${r.runtime} runtime, ${r.cpusPerNode} CPUs per node (${r.cpusSource}), ${where}`,
  );
  out.push(
    `ephemeral range ${r.ephemeralRange[0]}-${r.ephemeralRange[1]} (${r.ephemeralSource}); blocks fit in ${r.allowedRange.min}-${r.allowedRange.max}`,
  );
  out.push('');
  if (r.jobs.length === 0) out.push('raysl jobs with a port block on these nodes: none');
  else {
    out.push('raysl jobs with a port block on these nodes:');
    const rows = [
      ['JOBID', 'USER', 'STATE', 'NODES', 'BLOCK', 'PORTS'],
      ...r.jobs.map((j) => [
        j.id,
        j.user,
        j.state,
        j.nodes.join(','),
        `${j.block.first}-${j.block.last}`,
        String(j.block.size),
      ]),
    ];
    for (const line of table(rows)) out.push(`  ${line}`);
  }
  out.push('');
  if (r.block) {
    out.push(`job ${r.jobId} would get block ${r.block.first}-${r.block.last} (${r.block.size} ports):`);
    const rows = [
      ['NAME', 'OFFSET', 'PORT(S)'],
      ...r.layout.map((l) => [
        l.name,
        l.count === 1 ? String(l.offset) : `${l.offset}-${l.offset + l.count - 1}`,
        l.count === 1 ? String(l.first) : `${l.first}-${l.last} (${l.count})`,
      ]),
    ];
    for (const line of table(rows)) out.push(`  ${line}`);
  } else out.push(`job ${r.jobId} would get no block`);
  if (r.probe) {
    const n = r.probe.taken.length;
    out.push('', `probe on ${r.probe.address}: ${r.probe.ports} ports, ${n === 0 ? 'all free' : `${n} already bound`}`);
  }
  for (const note of r.notes) out.push(color.dim(`note: ${note}`));
  out.push('');
  if (r.ok) out.push(color.green('ok: no collisions'));
  else {
    out.push(color.red(`${r.collisions.length} collision(s):`));
    for (const c of r.collisions) out.push(`  ${color.red('x')} ${c.message}`);
  }
  return out;
}
