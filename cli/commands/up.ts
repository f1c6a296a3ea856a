// `metaswarm up`: the embedded stack in the foreground (dev server with its UI, workers of every
// role) until Ctrl-C. Other commands in this project find it through the state folder's stack.json.
import { freePort } from '../../stack/dev-server.js';
import { readLiveStack, removeStackFile, writeStackFile } from '../../stack/stack-file.js';
import type { CommandContext } from '../command-context.js';
import { wantsNatsArchive, type NatsCliOptions } from '../../stack/nats-config.js';

export async function upCommand(
  ctx: CommandContext,
  opts: { port?: number; uiPort?: number; ip?: string; archive?: string } & NatsCliOptions,
): Promise<void> {
  const existing = await readLiveStack();
  if (existing) throw new Error(`a metaswarm stack already runs here (pid ${existing.pid}, Temporal at ${existing.address})`);
  if (ctx.connection.address || process.env.TEMPORAL_ADDRESS) {
    throw new Error('`up` starts its own dev server: unset TEMPORAL_ADDRESS / --address, or run `metaswarm worker` to join that server');
  }
  await ctx.withSession(
    {
      workers: 'always',
      natsArchive: wantsNatsArchive(opts.archive) ? opts : false,
      embedded: { port: opts.port, uiPort: opts.uiPort ?? (await freePort()), ip: opts.ip },
    },
    async (session) => {
      await writeStackFile({
        address: session.address,
        namespace: session.namespace,
        uiAddress: session.uiAddress,
        ...(session.nats ? { natsUrl: session.nats.url } : {}),
        pid: process.pid,
        startedAt: new Date().toISOString(),
      });
      process.stdout.write(
        `Temporal:    ${session.address} (namespace ${session.namespace})\n` +
          `Temporal UI: ${session.uiAddress ?? '(headless)'}\n` +
          `task queues: ${Object.values(session.queues).join(', ')}\n` +
          (session.nats
            ? `archive:     NATS ${session.nats.url} (bucket ${session.nats.archive.bucket}), mirror ${session.nats.archive.mirrorRoot}\n`
            : '') +
          'workers: workflow, proposer, evaluator (in this process). Ctrl-C stops the stack.\n',
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      ctx.log.info('stopping the stack');
      await removeStackFile();
    },
  );
}
