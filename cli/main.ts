// The metaswarm command line. Each subcommand lives in commands/; this file only declares the
// options (commander does the parsing and --help) and turns errors into one clear message.
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from './logger.js';
import { parseMetricsPort, shutdownTracing } from '../telemetry/index.js';
import { createCommandContext, type CommandContext } from './command-context.js';
import { demoCommand } from './commands/demo.js';
import { searchCommand } from './commands/search.js';
import { statusCommand } from './commands/status.js';
import { controlCommand } from './commands/control.js';
import { evalCommand } from './commands/eval.js';
import { workerCommand } from './commands/worker.js';
import { archivePullCommand } from './commands/archive-pull.js';
import { upCommand } from './commands/up.js';
import { replayCommand } from './commands/replay.js';
import { resumeCommand } from './commands/resume.js';
import { retryFailedCommand } from './commands/retry-failed.js';

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1`);
  return n;
};

const program = new Command()
  .name('metaswarm')
  .description('Durable, distributed population search over LLM harnesses (the Meta-Harness loop) on Temporal')
  .option('--address <host:port>', 'Temporal frontend address (env TEMPORAL_ADDRESS); none: the embedded dev stack')
  .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE)')
  .option('--tls-cert <file>', 'client certificate for mTLS (env TEMPORAL_TLS_CERT)')
  .option('--tls-key <file>', 'client key for mTLS (env TEMPORAL_TLS_KEY)')
  .option('--tls-ca <file>', 'CA certificate of the server (env TEMPORAL_TLS_CA)')
  .option('--tls-server-name <name>', 'server name checked against its certificate (env TEMPORAL_TLS_SERVER_NAME)')
  .option('--api-key <key>', 'Temporal Cloud API key (env TEMPORAL_API_KEY)')
  .option('--queue-prefix <prefix>', 'task queue prefix shared by clients and workers (env METASWARM_QUEUE_PREFIX)')
  .option('--log-level <level>', 'pino log level (env METASWARM_LOG_LEVEL)', process.env.METASWARM_LOG_LEVEL ?? 'info')
  .showHelpAfterError();

function context(): CommandContext {
  const g = program.opts();
  return createCommandContext(
    createLogger(g.logLevel),
    {
      address: g.address,
      namespace: g.namespace,
      tlsCertPath: g.tlsCert,
      tlsKeyPath: g.tlsKey,
      tlsCaPath: g.tlsCa,
      tlsServerName: g.tlsServerName,
      apiKey: g.apiKey,
    },
    g.queuePrefix,
  );
}


/** Where the NATS archive is (see README "Archive over NATS"). */
function natsOptions(cmd: Command, withMirror = false): Command {
  cmd
    .option('--nats-url <url>', 'NATS server(s) of the archive, comma-separated (env NATS_URL; creds/TLS: NATS_CREDS, NATS_TLS_*)')
    .option('--bucket <name>', 'object store bucket of the archive (env METASWARM_ARCHIVE_BUCKET; default metaswarm-archive)');
  if (withMirror) cmd.option('--mirror <dir>', "this process's archive mirror (env METASWARM_MIRROR_DIR; default a free <state>/mirrors/<n>)");
  return cmd;
}

natsOptions(program
  .command('demo')
  .description('search the bundled offline example end to end on an embedded stack and print a summary')
  .option('--json', 'print one JSON object instead of the progress view and table')
  .option('--archive <backend>', "`nats`: keep the archive in NATS JetStream (an embedded nats-server when NATS_URL is unset)"), true)
  .action((opts) => demoCommand(context(), opts));

natsOptions(program
  .command('search')
  .description('start a search from a spec (YAML or JSON) and print its id')
  .argument('<spec>', 'spec file')
  .option('--follow', 'show progress until the search ends')
  .option('--json', 'JSON output')
  .option('--id <search-id>', 'search id (default: <name>-<time>-<random>)')
  .option('--archive <dir|nats>', 'archive folder (overrides the spec), or `nats` for the NATS JetStream backend'), true)
  .action((spec, opts) => searchCommand(context(), spec, opts));

program
  .command('status')
  .description("a search's state, budget, lineages and frontier")
  .argument('<search-id>')
  .option('--json', 'JSON output')
  .action((id, opts) => statusCommand(context(), id, opts));

for (const action of ['pause', 'stop'] as const) {
  const cmd = program
    .command(action)
    .description(
      {
        pause: 'start no new candidates (running ones finish); `resume` goes on',
        stop: 'stop a search: running candidates are cancelled and their processes killed',
      }[action],
    )
    .argument('<search-id>');
  if (action === 'stop') cmd.option('--reason <text>', 'recorded as the stop reason');
  cmd.action((id, opts) => controlCommand(context(), action, id, opts));
}

program
  .command('eval')
  .description('evaluate one harness on a task suite, into the archive, without a search')
  .argument('<harness-dir>')
  .requiredOption('--task <suite>', 'task suite folder: task.yaml (process) or Harbor task folders (docker)')
  .addOption(new Option('--split <split>', 'which split').choices(['search', 'test']).default('search'))
  .option('--json', 'aggregate and per-instance scores as JSON')
  .option('--archive <dir>', 'archive folder (default .metaswarm/archive)')
  .option('--concurrency <n>', 'instances at once', positiveInt('--concurrency'))
  .option('--instance-timeout <sec>', 'per-instance time limit', positiveInt('--instance-timeout'))
  .addOption(
    new Option('--gateway <mode>', 'model gateway for the harness (auto: when ANTHROPIC_API_KEY is set)')
      .choices(['auto', 'on', 'off'])
      .default('auto'),
  )
  .option('--cache', "reuse cached model responses (the archive's .model-cache): a re-evaluation pays nothing")
  .option('--docker-socket <path>', 'docker suites: the engine socket (default DOCKER_HOST or /var/run/docker.sock)')
  .option('--expose-solution', "docker suites: copy each task's solution/ in (for the oracle harness)")
  .action((dir, opts) => evalCommand(context(), dir, opts));

natsOptions(program
  .command('worker')
  .description('run workers that join the searches on the configured Temporal (or the running `up` stack)')
  .addOption(new Option('--role <role>', 'which work to take').choices(['workflow', 'proposer', 'evaluator', 'all']).default('all'))
  .option('--proposer-concurrency <n>', 'proposals at once in this process', positiveInt('--proposer-concurrency'))
  .option('--evaluator-concurrency <n>', 'evaluations at once in this process', positiveInt('--evaluator-concurrency'))
  .option('--identity <name>', 'worker identity shown in the Temporal UI')
  .option('--archive <backend>', '`nats`: also take searches whose archive is in NATS, keeping a mirror (env METASWARM_ARCHIVE)')
  .option('--metrics-port <port>', 'serve Prometheus /metrics, /healthz, /readyz on this port (env METASWARM_METRICS_PORT)', (v: string) => parseMetricsPort(v)), true)
  .action((opts) => workerCommand(context(), opts));

program
  .command('resume')
  .description(
    'resume a paused search; or continue a failed, terminated, timed-out or stopped one from its archive (finished candidates are kept)',
  )
  .argument('<search-id>')
  .option('--archive <dir>', "the search's archive folder (default: recorded when the search started)")
  .option('--follow', 'show progress until the search ends')
  .option('--json', 'JSON output')
  .action((id, opts) => resumeCommand(context(), id, opts));

program
  .command('retry-failed')
  .description('run again the candidates that failed for infrastructure reasons (not the harness’s own errors)')
  .argument('<search-id>')
  .option('--archive <dir>', "the search's archive folder (default: recorded when the search started)")
  .option('--follow', 'show progress until the search ends')
  .option('--json', 'JSON output')
  .action((id, opts) => retryFailedCommand(context(), id, opts));

program
  .command('replay')
  .description('replay workflow histories against the current workflow code and report nondeterminism')
  .argument('[target]', 'a workflow id (every run of it) or a history .json file')
  .option('--query <visibility-query>', "replay every execution the query matches, e.g. \"WorkflowType = 'searchWorkflow'\"")
  .option('--json', 'JSON output')
  .action((target, opts) => replayCommand(context(), target, opts));

natsOptions(program
  .command('up')
  .description('run the embedded stack (Temporal dev server + UI, all workers) in the foreground until Ctrl-C')
  .option('--port <port>', 'Temporal frontend port (default: a free one)', positiveInt('--port'))
  .option('--ui-port <port>', 'Temporal UI port (default: a free one)', positiveInt('--ui-port'))
  .option('--ip <ip>', 'address to bind', '127.0.0.1')
  .option('--archive <backend>', '`nats`: workers keep the archive in NATS (an embedded nats-server when NATS_URL is unset)'), true)
  .action((opts) => upCommand(context(), opts));

const archiveCmd = program.command('archive').description('the NATS archive of searches');
natsOptions(archiveCmd
  .command('pull')
  .description("copy a search's whole archive from NATS into a folder (incremental: again, only what changed)")
  .argument('<search-id>')
  .argument('<dir>', 'local archive root: the search lands in <dir>/<search-id>/')
  .option('--json', 'JSON report'))
  .action((id, dir, opts) => archivePullCommand(context(), id, dir, opts));

try {
  await program.parseAsync(process.argv);
  await shutdownTracing().catch(() => {}); // send the CLI's own spans (e.g. starting a search)
  process.exit(process.exitCode ?? 0);
} catch (err) {
  await shutdownTracing().catch(() => {});
  const e = err as Error;
  process.stderr.write(`metaswarm: ${e.message}\n`);
  if (process.env.METASWARM_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}
