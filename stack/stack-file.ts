// `<state>/stack.json`: what `metaswarm up` started, so other commands on this machine can use
// it. Read back only while it is alive (pid exists and the address accepts TCP); a stale file is
// removed.
import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { writeJsonAtomic } from '../shared-fs/atomic-write.js';
import { acceptsTcp, isProcessAlive } from './liveness.js';
import { resolveStateDir, statePaths } from './state-dir.js';

export const StackInfoSchema = z.object({
  address: z.string().min(1),
  namespace: z.string().min(1),
  uiAddress: z.string().optional(),
  /** The NATS of the archive when `up --archive nats` started one (workers joining use it). */
  natsUrl: z.string().optional(),
  pid: z.number().int().positive(),
  /** ISO 8601. */
  startedAt: z.string(),
});
export type StackInfo = z.infer<typeof StackInfoSchema>;

export interface StackFileOptions {
  /** Default resolveStateDir(). */
  stateDir?: string;
}

export function stackFilePath(options: StackFileOptions = {}): string {
  return statePaths(options.stateDir ?? resolveStateDir()).stackFile;
}

export async function writeStackFile(info: StackInfo, options: StackFileOptions = {}): Promise<string> {
  const file = stackFilePath(options);
  await writeJsonAtomic(file, StackInfoSchema.parse(info));
  return file;
}

export async function removeStackFile(options: StackFileOptions = {}): Promise<void> {
  await rm(stackFilePath(options), { force: true });
}

/** The stack in stack.json if it is still running; otherwise removes the file and returns undefined. */
export async function readLiveStack(options: StackFileOptions & { connectTimeoutMs?: number } = {}): Promise<StackInfo | undefined> {
  const file = stackFilePath(options);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let info: StackInfo | undefined;
  try {
    const parsed = StackInfoSchema.safeParse(JSON.parse(text));
    if (parsed.success) info = parsed.data;
  } catch {
    // unparsable: stale
  }
  if (info && isProcessAlive(info.pid) && (await acceptsTcp(info.address, options.connectTimeoutMs ?? 1_000))) return info;
  await rm(file, { force: true });
  return undefined;
}
