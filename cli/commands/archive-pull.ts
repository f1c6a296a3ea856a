// `metaswarm archive pull <search-id> <dir>`: the whole archive of a search from NATS into any
// folder (a laptop, a notebook), incrementally: a second pull downloads only what changed.
import { pullArchive } from '../../shared-fs/nats/index.js';
import { findNats, type NatsCliOptions } from '../../stack/nats-config.js';
import type { CommandContext } from '../command-context.js';
import { printJson } from '../json-output.js';

export async function archivePullCommand(
  ctx: CommandContext,
  searchId: string,
  dir: string,
  opts: NatsCliOptions & { json?: boolean },
): Promise<void> {
  const conn = await findNats(opts);
  if (!conn) throw new Error('no NATS to pull from: set NATS_URL (or --nats-url), or run it where `npx metaswarm up --archive nats` runs');
  const report = await pullArchive({ ...conn, searchId, dir, log: ctx.log });
  if (opts.json) printJson(report);
  else {
    process.stdout.write(
      `${report.searchDir}: ${report.downloaded} downloaded (${(report.bytes / 1e6).toFixed(1)} MB), ${report.unchanged} unchanged, ` +
        `${report.deleted} deleted in ${report.ms} ms\n`,
    );
  }
  const problems = [...report.refused, ...report.failed];
  if (problems.length) {
    throw new Error(`${problems.length} objects could not be pulled:\n${problems.slice(0, 10).map((p) => `  ${typeof p === 'string' ? `${p}: unsafe name, refused` : `${p.name}: ${p.error}`}`).join('\n')}`);
  }
  if (report.listed === 0) throw new Error(`the archive holds nothing for search ${searchId} (bucket ${conn.bucket ?? 'metaswarm-archive'})`);
}
