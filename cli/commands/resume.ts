// `metaswarm resume <search-id>`: a running (paused) search is told to go on; a failed,
// terminated, timed-out or stopped one is continued from its archive, without re-running
// finished candidates.
import { resumeSearch } from '../../client/resume.js';
import { getSearchStatus, resumeSearch as unpauseSearch } from '../../client/search-client.js';
import { followSearch } from '../progress-view.js';
import { renderSummary, searchJson } from '../summary-table.js';
import { printJson } from '../json-output.js';
import type { CommandContext } from '../command-context.js';
import { natsIfSearchUsesIt } from '../nats-archive.js';

export async function resumeCommand(
  ctx: CommandContext,
  searchId: string,
  opts: { archive?: string; follow?: boolean; json?: boolean },
): Promise<void> {
  await ctx.withSession({ workers: 'if-embedded', natsArchive: natsIfSearchUsesIt(searchId) }, async (session) => {
    const current = await getSearchStatus(session.client, searchId);
    if (current.phase === 'paused' || current.phase === 'running') {
      await unpauseSearch(session.client, searchId);
      process.stdout.write(`search ${searchId}: ${(await getSearchStatus(session.client, searchId)).phase}\n`);
      return;
    }
    const state = await resumeSearch(session.client, searchId, session.queues, opts.archive ? { archiveRoot: opts.archive } : {});
    ctx.log.info(
      { searchId, kept: state.counts.evaluated + state.counts.failed, proposed: state.counts.proposed, budget: state.maxCandidates },
      'search resumed from its archive',
    );
    if (!opts.follow && session.mode !== 'embedded') {
      if (opts.json) printJson({ searchId, resumed: true, kept: state.counts });
      else process.stdout.write(`${searchId}\n`);
      return;
    }
    const final = await followSearch(session.client, searchId, { live: !opts.json && Boolean(process.stderr.isTTY) && !process.env.CI });
    if (opts.json) printJson(searchJson(final));
    else process.stdout.write(renderSummary(final) + '\n');
  });
}
