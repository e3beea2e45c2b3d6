/** One line of the doctor's report; FAIL makes the exit code non-zero, WARN does not. */
export type CheckStatus = 'OK' | 'WARN' | 'FAIL' | 'INFO' | 'FIXED' | 'SKIP';

export interface CheckLine {
  status: CheckStatus;
  /** Short area name: kubernetes, rbac, state, lease, registrations, control-plane, fix. */
  area: string;
  message: string;
  /** What to do about it; printed on the next line. */
  hint?: string;
}

export function line(status: CheckStatus, area: string, message: string, hint?: string): CheckLine {
  return hint ? { status, area, message, hint } : { status, area, message };
}

/** `OK   rbac           message` plus an indented hint: greppable, one finding per line. */
export function formatLines(lines: readonly CheckLine[]): string {
  const out: string[] = [];
  for (const l of lines) {
    out.push(`${l.status.padEnd(5)} ${l.area.padEnd(14)} ${l.message}`);
    if (l.hint) out.push(`${' '.repeat(21)}→ ${l.hint}`);
  }
  return out.join('\n');
}

export function summarize(lines: readonly CheckLine[]): { text: string; exitCode: number } {
  const count = (s: CheckStatus): number => lines.filter((l) => l.status === s).length;
  const failed = count('FAIL');
  const text = `${count('OK')} ok, ${count('WARN')} warning(s), ${failed} failure(s)${count('FIXED') ? `, ${count('FIXED')} fixed` : ''}`;
  return { text, exitCode: failed > 0 ? 1 : 0 };
}
