// `metaswarm retry-failed <search-id>`: run again the candidates that failed for infrastructure
// reasons (not for the harness's own errors).
import { retryFailed } from '../../client/retry-failed.js';
import { followSearch } from '../progress-view.js';
import { renderSummary, searchJson } from '../summary-table.js';
import { printJson } from '../json-output.js';
import type { CommandContext } from '../command-context.js';
import { natsIfSearchUsesIt } from '../nats-archive.js';

export async function retryFailedCommand(ctx: CommandContext, searchId: string, opts: { archive?: string; follow?: boolean; json?: boolean }) {
  await ctx.withSession({ workers: 'if-embedded', natsArchive: natsIfSearchUsesIt(searchId) }, async (session) => {
    const retried = await retryFailed(session.client, searchId, session.queues, opts.archive ? { archiveRoot: opts.archive } : {});
    if (retried.length === 0) {
      if (opts.json) printJson({ searchId, retried: [] });
      else process.stdout.write(`search ${searchId}: no candidate failed for an infrastructure reason\n`);
      return;
    }
    ctx.log.info({ searchId, candidates: retried.map((r) => r.id) }, 'running failed candidates again');
    if (!opts.follow && session.mode !== 'embedded') {
      if (opts.json) printJson({ searchId, retried: retried.map((r) => r.id) });
      else process.stdout.write(`${retried.map((r) => r.id).join('\n')}\n`);
      return;
    }
    const final = await followSearch(session.client, searchId, { live: !opts.json && Boolean(process.stderr.isTTY) && !process.env.CI });
    if (opts.json) printJson({ ...searchJson(final), retried: retried.map((r) => r.id) });
    else process.stdout.write(renderSummary(final) + '\n');
  });
}
