// What the benchmark runs on, all started by itself: its own Temporal dev server (in-memory,
// free port), workflow + proposer workers in this process (one set per task-queue prefix), and
// evaluator workers as separate processes through the real CLI
// (`node bin/metaswarm.js worker --role evaluator`), as a cluster would run them.
//
// Workflow and proposer workers stay in this process: the workflow code is bundled once (a
// webpack build costs seconds of CPU per process on 2 cores), and neither role is what is being
// compared. Evaluators are what scales, so they are real processes.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { execa, type ResultPromise } from 'execa';
import { isExpectedNoise } from '../cli/temporal-runtime.js';
import { startDevServer, type DevServer } from '../stack/dev-server.js';
import type { StackLog } from '../stack/log.js';
import { projectRoot } from '../stack/state-dir.js';
import { findOrInstallTemporalCli } from '../stack/temporal-cli.js';
import { startWatchdog } from '../stack/watchdog.js';
import { createWorkers, runWorkers, workflowBundle } from '../workers/create-workers.js';
import { taskQueues } from '../workers/task-queues.js';
import type { TaskQueues } from '../workflows/search-types.js';

export interface BenchStack {
  client: Client;
  address: string;
  namespace: string;
  /** A fresh task-queue prefix for one measurement, unique to this run. */
  prefix(name: string): string;
  /** Workflow + proposer workers in this process on `prefix`'s queues. */
  startSwarm(prefix: string, opts: { proposerConcurrency: number }): Promise<InProcessSwarm>;
  /** This process, the Temporal server and the running evaluator processes (bench/cpu.ts). */
  cpuPids(): number[];
  /** `count` evaluator worker processes on `prefix`'s evaluator queue; resolves once all poll. */
  startEvaluators(prefix: string, opts: EvaluatorProcessOptions): Promise<EvaluatorProcesses>;
  stop(): Promise<void>;
}

export interface InProcessSwarm {
  queues: TaskQueues;
  shutdown(): Promise<void>;
}

export interface EvaluatorProcessOptions {
  count: number;
  /** --evaluator-concurrency of each process (evaluate/validate activities at once). */
  concurrency: number;
  /** Extra environment (BENCH_LOG_DIR: where the harness logs its busy intervals). */
  env?: Record<string, string>;
}

export interface EvaluatorProcesses {
  identities: string[];
  stop(): Promise<void>;
}

export interface StartBenchStackOptions {
  workDir: string;
  say: (m: string) => void;
}

const READY_TIMEOUT_MS = 180_000;

export async function startBenchStack(o: StartBenchStackOptions): Promise<BenchStack> {
  const log: StackLog = { info: (m) => o.say(`[temporal] ${m}`), warn: (m) => o.say(`[temporal] ${m}`), debug: () => {} };
  const cliPath = await findOrInstallTemporalCli({ log });
  // The workflow bundle builds while the server starts (both take seconds).
  const bundling = workflowBundle();
  bundling.catch(() => undefined); // awaited below; not an unhandled rejection if the server fails first
  const server: DevServer = await startDevServer({
    cliPath,
    uiPort: false,
    log,
    readyTimeoutMs: READY_TIMEOUT_MS,
    logFile: path.join(o.workDir, 'temporal-dev-server.log'),
    stopGraceMs: 3_000,
  });
  const closers: Array<() => Promise<void>> = [() => server.stop()];
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch((err) => o.say(`cleanup: ${String(err)}`));
    closers.length = 0;
  };
  try {
    installQuietRuntime(o.say);
    const native = await NativeConnection.connect({ address: server.address });
    closers.push(() => native.close());
    const connection = await Connection.connect({ address: server.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    await bundling;
    const run = randomBytes(3).toString('hex');
    let spawned = 0; // evaluator identities are unique in the run (the pollers check reads them)
    const evaluatorProcs: EvaluatorProcess[] = [];
    const workers: Array<{ stop(): Promise<void> }> = [];
    closers.push(async () => {
      for (const w of workers.splice(0)) await w.stop();
    });

    return {
      client,
      address: server.address,
      namespace: server.namespace,
      prefix: (name) => `bench-${run}-${name}`,
      cpuPids: () => [process.pid, server.pid, ...evaluatorProcs.filter((p) => !p.exited() && p.child.pid !== undefined).map((p) => p.child.pid!)],
      async startSwarm(prefix, opts) {
        const queues = taskQueues(prefix);
        const running = runWorkers(
          await createWorkers({
            connection: native,
            namespace: server.namespace,
            roles: ['workflow', 'proposer'],
            queues,
            proposerConcurrency: opts.proposerConcurrency,
          }),
        );
        let stopped: Promise<void> | undefined;
        const shutdown = () => (stopped ??= running.shutdown());
        workers.push({ stop: shutdown });
        return { queues, shutdown };
      },
      async startEvaluators(prefix, opts) {
        const procs = Array.from({ length: opts.count }, () =>
          spawnEvaluator({ ...server, prefix, identity: `${prefix}-evaluator-${spawned++}`, concurrency: opts.concurrency, env: opts.env ?? {}, workDir: o.workDir }),
        );
        evaluatorProcs.push(...procs);
        let stopped: Promise<void> | undefined;
        const stopAll = () => (stopped ??= Promise.all(procs.map((p) => p.stop())).then(() => undefined));
        workers.push({ stop: stopAll });
        try {
          await waitForPollers(client, server.namespace, taskQueues(prefix).evaluators, procs);
        } catch (err) {
          await stopAll();
          throw err;
        }
        return { identities: procs.map((p) => p.identity), stop: stopAll };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

let runtimeInstalled = false;
/** The SDK logs every worker state change at INFO; the bench wants warnings and errors only. */
function installQuietRuntime(say: (m: string) => void): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!isExpectedNoise(entry)) say(`[sdk ${entry.level}] ${entry.message}`);
    }),
  });
}

interface EvaluatorProcess {
  identity: string;
  logFile: string;
  child: ResultPromise;
  exited: () => boolean;
  stop(): Promise<void>;
}

function spawnEvaluator(o: {
  address: string;
  namespace: string;
  prefix: string;
  identity: string;
  concurrency: number;
  env: Record<string, string>;
  workDir: string;
}): EvaluatorProcess {
  const logFile = path.join(o.workDir, `${o.identity}.log`);
  // Flags rather than TEMPORAL_* variables: whatever the caller's environment says, these
  // workers join this bench's server and queues.
  const args = [
    path.join(projectRoot(), 'bin', 'metaswarm.js'),
    '--address', o.address,
    '--namespace', o.namespace,
    '--queue-prefix', o.prefix,
    // info: the `worker running` line tells us it polls (waitForPollers); nothing else is chatty.
    '--log-level', 'info',
    'worker', '--role', 'evaluator',
    '--evaluator-concurrency', String(o.concurrency),
    '--identity', o.identity,
  ];
  const child = execa(process.execPath, args, {
    cwd: projectRoot(),
    env: { ...o.env, METASWARM_LOG_LEVEL: 'info' },
    stdin: 'ignore',
    stdout: { file: logFile },
    stderr: { file: logFile },
    reject: false,
    forceKillAfterDelay: 10_000,
  });
  // execa's cleanup stops it when we exit or get SIGINT/SIGTERM; the watchdog when we are killed.
  if (child.pid !== undefined) startWatchdog('bench-evaluator', process.pid, child.pid, 5);
  let done = false;
  void child.then(() => (done = true));
  return {
    identity: o.identity,
    logFile,
    child,
    exited: () => done,
    async stop() {
      // SIGTERM drains: running activities finish, then the worker exits.
      if (!done) child.kill('SIGTERM');
      await child;
    },
  };
}

/**
 * Until every process runs its worker: it logged `worker running` (cli/commands/worker.ts, once
 * its Worker polls), or DescribeTaskQueue lists its identity. The log is the signal to rely on:
 * DescribeTaskQueue shows only the pollers of the queue's root partition, and a new worker whose
 * polls land on the other partitions of an idle queue can stay unlisted for a whole long poll
 * (a minute).
 */
async function waitForPollers(client: Client, namespace: string, queue: string, procs: EvaluatorProcess[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const ready = new Set<string>();
  for (;;) {
    const dead = procs.find((p) => p.exited());
    if (dead) throw new Error(`evaluator worker ${dead.identity} exited before it polled; its log:\n${await tail(dead.logFile)}`);
    for (const p of procs) {
      if (!ready.has(p.identity) && /"msg":"worker running/.test(await readFile(p.logFile, 'utf8').catch(() => ''))) ready.add(p.identity);
    }
    if (ready.size < procs.length) {
      const res = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: queue },
        // TASK_QUEUE_TYPE_ACTIVITY: evaluators poll for activities only.
        taskQueueType: 2 as temporal.api.enums.v1.TaskQueueType,
      });
      for (const p of res.pollers ?? []) if (p.identity) ready.add(p.identity);
    }
    if (procs.every((p) => ready.has(p.identity))) return;
    if (Date.now() > deadline) {
      const missing = procs.filter((p) => !ready.has(p.identity));
      throw new Error(`evaluator workers ${missing.map((p) => p.identity).join(', ')} did not start within ${READY_TIMEOUT_MS / 1000} s; log of the first:\n${await tail(missing[0]!.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '(no log)');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
