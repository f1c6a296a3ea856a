// `metaswarm search <spec>`: start a search; `--follow` shows progress until it ends.
import path from 'node:path';
import { loadSpec } from '../../contract/spec-file.js';
import { startSearch } from '../../client/search-client.js';
import { missingModelAccess, preflight } from '../../client/preflight.js';
import { SpecError } from '../../contract/validation-error.js';
import { resolveTemporalConfig } from '../../stack/temporal-config.js';
import { readLiveStack } from '../../stack/stack-file.js';
import { followSearch } from '../progress-view.js';
import { renderSummary, searchJson } from '../summary-table.js';
import { printJson } from '../json-output.js';
import type { CommandContext } from '../command-context.js';
import type { SearchSpec } from '../../contract/spec.js';
import { wantsNatsArchive, type NatsCliOptions } from '../../stack/nats-config.js';

export interface SearchCommandOptions extends NatsCliOptions {
  follow?: boolean;
  json?: boolean;
  id?: string;
  /** An archive folder, or `nats`. */
  archive?: string;
}

/**
 * `--archive nats` picks the NATS backend; any other value is the archive folder. Without the
 * flag, METASWARM_ARCHIVE=nats (a deployment's setting) does.
 */
export function applyArchiveOption(spec: SearchSpec, archive: string | undefined, bucket: string | undefined): void {
  if (archive === 'nats' || (archive === undefined && wantsNatsArchive(undefined))) spec.archive.backend = 'nats';
  else if (archive) spec.archive.path = path.resolve(archive);
  if (bucket && spec.archive.backend === 'nats') spec.archive.bucket = bucket;
}

/** A search on the nats backend needs workers with NATS: say so now when the `up` stack has none. */
export async function checkLiveStackArchive(spec: SearchSpec): Promise<void> {
  if (spec.archive.backend !== 'nats') return;
  const live = await readLiveStack();
  if (live && !live.natsUrl) {
    throw new Error('this search keeps its archive in NATS, but the running `metaswarm up` stack has no NATS: restart it with `npx metaswarm up --archive nats`');
  }
}

export async function searchCommand(ctx: CommandContext, specPath: string, opts: SearchCommandOptions): Promise<void> {
  const loaded = await loadSpec(specPath);
  applyArchiveOption(loaded.spec, opts.archive, opts.bucket);
  await preflight(loaded.spec); // bad specs fail before any server starts
  // Workers in this process (no cluster, no `up` stack): a missing model key is known now.
  const localWorkers = resolveTemporalConfig(ctx.connection).kind === 'embedded' && !(await readLiveStack());
  const missing = localWorkers ? missingModelAccess(loaded.spec) : [];
  if (missing.length) throw new SpecError(`${loaded.specFile} cannot run here:`, missing);
  if (!localWorkers) await checkLiveStackArchive(loaded.spec);
  const nats = loaded.spec.archive.backend === 'nats' ? { ...opts, ...(loaded.spec.archive.bucket ? { bucket: loaded.spec.archive.bucket } : {}) } : false;
  await ctx.withSession({ workers: 'if-embedded', natsArchive: nats }, async (session) => {
    // In-process workers: this process's mirror is where the archive can be read.
    if (session.nats) loaded.spec.archive.path = session.nats.archive.mirrorRoot;
    const searchId = await startSearch(session.client, loaded, session.queues, opts.id);
    // With an embedded stack the search lives only as long as this process: follow it to the end.
    const follow = opts.follow || session.mode === 'embedded';
    if (!follow) {
      if (opts.json) printJson({ searchId, archive: `${loaded.spec.archive.path}/${searchId}` });
      else process.stdout.write(`${searchId}\n`);
      return;
    }
    if (session.mode === 'embedded' && !opts.follow) {
      ctx.log.info('no Temporal server configured: running on the embedded stack until the search ends');
    }
    if (!opts.json) process.stdout.write(`${searchId}\n`);
    const final = await followSearch(session.client, searchId, { live: !opts.json && Boolean(process.stderr.isTTY) && !process.env.CI, out: process.stderr });
    if (opts.json) printJson(searchJson(final));
    else process.stdout.write(renderSummary(final) + '\n');
  });
}
