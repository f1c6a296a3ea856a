// `metaswarm demo`: the bundled offline example searched end to end on the embedded stack (or a
// configured server, with workers in this process), then a summary. No API key, no network.
import path from 'node:path';
import { loadSpec } from '../../contract/spec-file.js';
import { startSearch } from '../../client/search-client.js';
import { preflight } from '../../client/preflight.js';
import { projectRoot, resolveStateDir } from '../../stack/state-dir.js';
import { followSearch } from '../progress-view.js';
import { renderSummary, searchJson } from '../summary-table.js';
import { printJson } from '../json-output.js';
import type { CommandContext } from '../command-context.js';
import { wantsNatsArchive, type NatsCliOptions } from '../../stack/nats-config.js';

export const DEMO_SPEC = 'examples/ticket-triage/search.yaml';

export async function demoCommand(
  ctx: CommandContext,
  opts: { json?: boolean; spec?: string; archive?: string } & NatsCliOptions,
): Promise<void> {
  const loaded = await loadSpec(opts.spec ?? path.join(projectRoot(), DEMO_SPEC));
  loaded.spec.archive.path = path.join(resolveStateDir(), 'archive');
  if (wantsNatsArchive(opts.archive)) loaded.spec.archive.backend = 'nats';
  if (opts.bucket) loaded.spec.archive.bucket = opts.bucket;
  await preflight(loaded.spec); // bad specs fail before any server starts
  const nats = loaded.spec.archive.backend === 'nats' ? opts : false;
  await ctx.withSession({ workers: 'always', natsArchive: nats }, async (session) => {
    if (session.nats) loaded.spec.archive.path = session.nats.archive.mirrorRoot;
    const searchId = await startSearch(session.client, loaded, session.queues);
    ctx.log.info({ searchId, archive: path.join(loaded.spec.archive.path, searchId) }, 'demo search started');
    const live = !opts.json && Boolean(process.stderr.isTTY) && !process.env.CI;
    const final = await followSearch(session.client, searchId, { live, out: process.stderr });
    if (opts.json) return printJson(searchJson(final));
    process.stdout.write(renderSummary(final) + '\n');
    if (final.best) {
      const harness = path.join(final.archive, 'candidates', final.best.id, 'harness');
      process.stdout.write(
        `\nScore the best harness on the held-out test split:\n` +
          `  npx metaswarm eval ${path.relative(process.cwd(), harness) || harness} --task ${path.relative(process.cwd(), loaded.spec.task)} --split test\n`,
      );
    }
  });
}
