// The search spec: the one contract between the CLI, the workflows, the activities and the archive.
// Users write it as YAML or JSON; `loadSpec` (spec-file.ts) validates it with these schemas and
// resolves relative paths against the spec file, so workers on any machine get absolute paths.
import { z } from 'zod';
import { dockerEvaluatorSchema } from './docker-evaluator.js';

const positiveInt = z.number().int().positive();
const command = z
  .array(z.string().min(1))
  .min(1, 'a command is a list: the program, then its arguments, e.g. ["python3", "propose.py"]');

export const budgetSchema = z
  .object({
    /** How many candidates the search may propose (seeds are not counted). */
    maxCandidates: positiveInt,
    /** Wall-clock limit for the whole search, in seconds (measured in workflow time). */
    maxWallTimeSec: positiveInt.optional(),
    /**
     * Model spend of the whole search (harness calls through the gateway and the proposer's own
     * calls), in USD. Each candidate gets an allowance out of what is left, so calls in flight
     * can never take the search past it.
     */
    maxCostUsd: z.number().positive().optional(),
  })
  .strict();

export const objectiveSchema = z
  .object({
    /** The metric to maximize: `score` (mean instance score) unless the task says otherwise. */
    maximize: z.string().default('score'),
    /** Secondary metrics to minimize, e.g. `durationMs`, `costUsd`, `tokens`. */
    minimize: z.array(z.string()).default([]),
  })
  .strict();

export const commandProposerSchema = z
  .object({
    kind: z.literal('command'),
    /** Program and arguments, run with the workspace as working directory. */
    command,
    timeoutSec: positiveInt.default(600),
    /** Extra environment variables for the proposer (the rest of the environment is scrubbed). */
    env: z.record(z.string(), z.string()).default({}),
    /** Environment variables passed through from the worker's environment, e.g. API keys. */
    passEnv: z.array(z.string()).default([]),
  })
  .strict();

/** Prices in USD per million tokens (cache prices default to 1.25x / 0.1x the input price). */
export const modelPricingSchema = z
  .object({
    inputPerMTok: z.number().nonnegative(),
    outputPerMTok: z.number().nonnegative(),
    cacheWritePerMTok: z.number().nonnegative().optional(),
    cacheReadPerMTok: z.number().nonnegative().optional(),
  })
  .strict();

/** The anthropic proposer's shell tool (bubblewrap sandbox; see proposers/sandbox/). */
export const proposerShellSchema = z
  .object({
    /** Offer the shell tool at all. */
    enabled: z.boolean().default(true),
    /** Without a working bubblewrap: false drops the shell tool (noted), true fails the proposal. */
    required: z.boolean().default(false),
    /** Default time limit of one command, in seconds. */
    timeoutSec: positiveInt.default(120),
    /** The most the agent may ask for one command, in seconds. */
    maxTimeoutSec: positiveInt.default(600),
    /** stdout and stderr of a command are each cut at this many bytes. */
    maxOutputBytes: positiveInt.default(30_000),
    /** `full`: the whole host file system read-only; `system`: only /usr, /bin, /lib*, /etc, /opt. */
    hostView: z.enum(['full', 'system']).default('full'),
  })
  .strict();

// The LLM proposer: an agent loop on the Messages API (proposers/anthropic/). The API key comes
// from the worker's environment (ANTHROPIC_API_KEY, optional ANTHROPIC_BASE_URL), never the spec.
export const anthropicProposerSchema = z
  .object({
    kind: z.literal('anthropic'),
    model: z.string().min(1).default('claude-sonnet-4-5'),
    /** max_tokens of one model response. */
    maxTokens: positiveInt.default(16_000),
    /** Most model calls (turns) in one proposal. */
    maxTurns: positiveInt.default(60),
    /** Wall-clock limit of one proposal, in seconds. */
    timeoutSec: positiveInt.default(1800),
    /** Budget of prompt tokens over the whole proposal (uncached + cache reads + cache writes). */
    maxInputTokens: positiveInt.optional(),
    /** Budget of output tokens over the whole proposal. */
    maxOutputTokens: positiveInt.optional(),
    /** Budget of estimated cost over the whole proposal, in USD. */
    maxCostUsd: z.number().positive().optional(),
    /** Retries of one model call on 429 / 529 / 5xx / connection errors (with backoff, honouring retry-after). */
    maxRetries: z.number().int().min(0).max(100).default(10),
    /** Stream responses (SSE); false uses plain JSON responses. */
    stream: z.boolean().default(true),
    temperature: z.number().min(0).max(1).optional(),
    /** Prices for a model the built-in table does not know (cost accounting, maxCostUsd). */
    pricing: modelPricingSchema.optional(),
    /** How often the agent is told its harness is invalid and asked to fix it before the proposal fails. */
    maxFixAttempts: z.number().int().min(0).max(10).default(2),
    /** Archive paths (globs, relative to the search folder) hidden from the agent: held-out results. */
    hiddenArchivePaths: z.array(z.string().min(1)).default(['candidates/*/eval/test']),
    shell: proposerShellSchema.prefault({}),
  })
  .strict();

// External coding-agent CLIs, run as command proposers with a preset command line
// (proposers/anthropic/presets.ts). They are confined by their own sandboxes, not metaswarm's.
const agentCliCommon = {
  /** The program (default `claude` / `codex`, found on the worker's PATH). */
  executable: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  timeoutSec: positiveInt.default(1800),
  /** More arguments, appended after the preset's own. */
  extraArgs: z.array(z.string()).optional(),
  /** More worker environment variables to pass through. */
  passEnv: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
};

export const claudeCodeProposerSchema = z
  .object({
    kind: z.literal('claude-code'),
    ...agentCliCommon,
    maxTurns: positiveInt.optional(),
    /** Lets Claude Code run Bash on the worker: an unconfined shell (default false). */
    allowBash: z.boolean().optional(),
  })
  .strict();

export const codexProposerSchema = z
  .object({
    kind: z.literal('codex'),
    ...agentCliCommon,
    sandbox: z.enum(['read-only', 'workspace-write', 'danger-full-access']).optional(),
  })
  .strict();

export const proposerSchema = z.discriminatedUnion('kind', [
  commandProposerSchema,
  anthropicProposerSchema,
  claudeCodeProposerSchema,
  codexProposerSchema,
]);

export const processEvaluatorSchema = z
  .object({
    kind: z.literal('process').default('process'),
    /** Instances run at once by one evaluate activity. */
    concurrency: positiveInt.default(4),
    instanceTimeoutSec: z.number().positive().default(60),
    /** stdout and stderr beyond this are cut (and an over-long stdout fails the instance). */
    maxOutputBytes: positiveInt.default(1_000_000),
    /** Environment variables passed through to the harness; everything else is scrubbed. */
    passEnv: z.array(z.string()).default([]),
  })
  .strict();

/** `process` when `kind` is left out (the spec format before the docker evaluator existed). */
export const evaluatorSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'process' } : v),
  z.discriminatedUnion('kind', [processEvaluatorSchema, dockerEvaluatorSchema]),
);

/** USD per million tokens for one model (or model id prefix). */
const gatewayPriceSchema = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cacheWrite: z.number().nonnegative(),
    cacheRead: z.number().nonnegative(),
  })
  .strict();

export const gatewaySchema = z
  .object({
    /**
     * Give harnesses a model endpoint through the gateway: `auto` does when the evaluator worker
     * has ANTHROPIC_API_KEY; `true` requires it; `false` never.
     */
    enabled: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** Upstream Messages API; default the worker's ANTHROPIC_BASE_URL, else Anthropic's. */
    upstreamUrl: z.string().url().optional(),
    /** Reuse responses to identical requests (re-evaluations and replays pay nothing). */
    cache: z.boolean().default(false),
    /** Cache folder; default `<archive path>/.model-cache`. */
    cacheDir: z.string().optional(),
    /** Prices on top of the built-in table, by model id or prefix. */
    prices: z.record(z.string(), gatewayPriceSchema).optional(),
    maxTokensPerInstance: positiveInt.optional(),
    maxTokensPerCandidate: positiveInt.optional(),
  })
  .strict();

export const archiveSchema = z
  .object({
    /**
     * `local`: one folder every worker reads and writes (one machine, or a shared mount).
     * `nats`: the JetStream object store holds the archive; every worker keeps a mirror of it
     * (workers bring the connection: NATS_URL, see README "Archive over NATS").
     */
    backend: z.enum(['local', 'nats']).default('local'),
    /**
     * Folder holding `<search-id>/…`; relative paths are resolved against the spec file. On the
     * nats backend: where this machine's commands keep their copy (status, resume, pull).
     */
    path: z.string().default('.metaswarm/archive'),
    /** Object store bucket (nats backend); default the workers' METASWARM_ARCHIVE_BUCKET or `metaswarm-archive`. */
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, dashes and underscores (a JetStream bucket name)')
      .optional(),
  })
  .strict();

export const searchSpecSchema = z
  .object({
    /** A short name; the search id is derived from it unless given on the command line. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes').default('search'),
    /** The task suite folder (with task.yaml). */
    task: z.string().min(1),
    /** Seed harness folders; lineage i starts from seed i mod (number of seeds). */
    seeds: z.array(z.string().min(1)).min(1),
    /** Number of lineages kept going at once. */
    population: positiveInt.default(2),
    /** Candidates proposed from the same parent in one lineage step. */
    proposalsPerStep: positiveInt.default(1),
    budget: budgetSchema,
    objectives: objectiveSchema.default({ maximize: 'score', minimize: [] }),
    /** A lineage without improvement for this many steps takes the global best as parent. */
    stallSteps: positiveInt.default(3),
    /**
     * A lineage whose every proposal failed waits this long before its next step, doubling per
     * failed step in a row (capped at 5 minutes), so it cannot burn the budget of the others.
     */
    failureBackoffSec: z.number().nonnegative().default(5),
    proposer: proposerSchema,
    evaluator: evaluatorSchema.default({
      kind: 'process',
      concurrency: 4,
      instanceTimeoutSec: 60,
      maxOutputBytes: 1_000_000,
      passEnv: [],
    }),
    gateway: gatewaySchema.default({ enabled: 'auto', cache: false }),
    archive: archiveSchema.default({ backend: 'local', path: '.metaswarm/archive' }),
    /**
     * Continue-as-new once a run's history holds this many events (Temporal also suggests it
     * on its own, near its limits). Tests set it small to prove the state carries over.
     */
    continueAsNewAfterEvents: positiveInt.default(2000),
    /**
     * Propose and evaluate activities heartbeat every 2 s; one silent this long is presumed dead
     * (its worker crashed) and is retried on another worker.
     */
    heartbeatTimeoutSec: positiveInt.default(60),
  })
  .strict();

export type SearchSpecInput = z.input<typeof searchSpecSchema>;
export type SearchSpec = z.output<typeof searchSpecSchema>;
export type ProposerSpec = z.output<typeof proposerSchema>;
export type CommandProposerSpec = z.output<typeof commandProposerSchema>;
export type AnthropicProposerSpec = z.output<typeof anthropicProposerSchema>;
export type EvaluatorSpec = z.output<typeof evaluatorSchema>;
export type ProcessEvaluatorSpec = z.output<typeof processEvaluatorSchema>;
export type GatewaySpec = z.output<typeof gatewaySchema>;
export type Objectives = z.output<typeof objectiveSchema>;
