// summary.jsonl, one line per recorded candidate: parsing that tolerates a line torn by a crash,
// and the idempotent edits the record activity makes (append once, replace on a retry).
import type { SummaryLine } from '../contract/candidate.js';

const lineId = (l: string): string | undefined => {
  try {
    return (JSON.parse(l) as { id?: string }).id;
  } catch {
    return undefined; // a line torn by a crash
  }
};

/** The complete lines of summary.jsonl (a line torn by a crash is left out). */
export function parseSummaryLines(content: string): SummaryLine[] {
  return content.split('\n').flatMap((l) => {
    if (!l) return [];
    try {
      return [JSON.parse(l) as SummaryLine];
    } catch {
      return [];
    }
  });
}

/**
 * summary.jsonl with `line` appended, or null (no change) when a line for the same candidate is
 * already there (a retry after a write that succeeded). A line torn by a crash mid-write is cut off.
 */
export function withAppendedLine(content: string, line: SummaryLine): string | null {
  const complete = content.length > 0 && !content.endsWith('\n') ? content.slice(0, content.lastIndexOf('\n') + 1) : content;
  const already = complete.split('\n').some((l) => l && lineId(l) === line.id);
  if (already) return complete === content ? null : complete;
  return complete + JSON.stringify(line) + '\n';
}

/** summary.jsonl with `line` in place of the candidate's earlier line (a retried candidate). */
export function withReplacedLine(content: string, line: SummaryLine): string {
  const kept = content.split('\n').filter((l) => l && lineId(l) !== undefined && lineId(l) !== line.id);
  return [...kept, JSON.stringify(line)].join('\n') + '\n';
}

/** Candidate ids in summary.jsonl, in order. */
export function summaryIds(content: string): string[] {
  return parseSummaryLines(content).flatMap((l) => (l.id ? [l.id] : []));
}
