export interface AllowedSkip {
  test: string;
  reason: string;
}
export interface NotRun {
  name: string;
  status: string;
}
export interface SkipVerdict {
  allowed: (NotRun & { reason: string })[];
  unexpected: NotRun[];
  filteredOut: number;
  ok: boolean;
}
export interface JsonReport {
  testResults?: { name: string; assertionResults?: { ancestorTitles: string[]; title: string; status: string }[] }[];
}
export function testName(root: string, file: string, assertion: { ancestorTitles: string[]; title: string }): string;
export function checkSkips(
  report: JsonReport,
  allowed: readonly AllowedSkip[],
  opts: { root: string; nameFiltered: boolean },
): SkipVerdict;
export function describeSkips(v: SkipVerdict): string[];
