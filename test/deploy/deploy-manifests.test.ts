// deploy/: the worker image, the compose cluster and the Kubernetes manifests, checked offline.
//
// Two kinds of checks:
// 1. deploy/validate.sh --no-install runs the real validators (hadolint, shellcheck,
//    docker-compose config, check-jsonschema with the Compose Specification and our KEDA schema,
//    kustomize, kubernetes-validate). A validator that is not installed fails this test with the
//    command to install it; it never passes silently. CI installs them in .ci/run.
// 2. What a user would check by reading the files: every worker has probes on the health port,
//    runs as non-root, drains long enough; KEDA scales the evaluator Deployment on the evaluator
//    queue; compose's evaluator can scale; every environment variable is one the workers read.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deploy = (...parts: string[]) => path.join(root, 'deploy', ...parts);

// The workers' runtime contract: every variable a deploy file sets must be one of these.
const CONTRACT_ENV = new Set([
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'METASWARM_QUEUE_PREFIX',
  'METASWARM_ARCHIVE',
  'NATS_URL',
  'NATS_CREDS',
  'NATS_TLS_CA',
  'NATS_TLS_CERT',
  'NATS_TLS_KEY',
  'METASWARM_ARCHIVE_BUCKET',
  'METASWARM_MIRROR_DIR',
  'METASWARM_METRICS_PORT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'ANTHROPIC_API_KEY',
]);
// What every worker needs to join the swarm with the NATS archive and be probed.
const REQUIRED_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'METASWARM_QUEUE_PREFIX',
  'METASWARM_ARCHIVE',
  'NATS_URL',
  'METASWARM_ARCHIVE_BUCKET',
  'METASWARM_MIRROR_DIR',
  'METASWARM_METRICS_PORT',
];
const ROLES = ['workflow', 'proposer', 'evaluator'] as const;
type Role = (typeof ROLES)[number];

// How long each role must be allowed to drain after SIGTERM (see the Deployments' comments):
// an evaluator gets an hour for its running evaluations, a proposer the longest default proposer
// timeout (30 min), a workflow worker its archive activities' 2-minute start-to-close timeout.
const DRAIN_SEC: Record<Role, number> = { evaluator: 3600, proposer: 1800, workflow: 120 };
// Default activity heartbeat timeout (contract/spec.ts): a drain shorter than this would be pointless.
const HEARTBEAT_TIMEOUT_SEC = 60;
// The image's USER (deploy/Dockerfile); pods must run as the same non-root uid.
const IMAGE_UID = 10001;

// ------------------------------------------------------------------------------------------------
// Small typed views over parsed YAML (the tests only read).
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}
/** Follows a path of keys / indexes; throws naming the path if a step is missing. */
function at(v: unknown, ...keys: (string | number)[]): unknown {
  let cur = v;
  const walked: (string | number)[] = [];
  for (const k of keys) {
    walked.push(k);
    if (typeof k === 'number') cur = arr(cur, walked.slice(0, -1).join('.'))[k];
    else cur = obj(cur, walked.slice(0, -1).join('.') || '(root)')[k];
    if (cur === undefined) throw new Error(`missing ${walked.join('.')}`);
  }
  return cur;
}

function yamlDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  return (Array.isArray(docs) ? docs : [docs]).map((d, i) => {
    if (d.errors.length) throw new Error(`${file} (document ${i}): ${d.errors.map((e) => e.message).join('; ')}`);
    return obj(d.toJS(), `${file} (document ${i})`);
  });
}
function yamlDoc(file: string): Obj {
  const docs = yamlDocs(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, found ${docs.length}`);
  return docs[0]!;
}

// ------------------------------------------------------------------------------------------------
// The Kubernetes base as kustomize lists it.
const kustomization = yamlDoc(deploy('k8s', 'base', 'kustomization.yaml'));
const k8sObjects = arr(kustomization.resources, 'base resources').map((r) => yamlDoc(deploy('k8s', 'base', str(r, 'resource'))));
const byKind = (kind: string) => k8sObjects.filter((o) => o.kind === kind);
const named = (kind: string, name: string) => {
  const found = byKind(kind).find((o) => at(o, 'metadata', 'name') === name);
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/k8s/base`);
  return found;
};
const configMap = obj(named('ConfigMap', 'metaswarm-config').data, 'ConfigMap data');
const cm = (key: string) => str(configMap[key], `ConfigMap ${key}`);
const deployments = Object.fromEntries(ROLES.map((role) => [role, named('Deployment', `metaswarm-${role}`)])) as Record<Role, Obj>;
const podSpec = (role: Role) => obj(at(deployments[role], 'spec', 'template', 'spec'), `${role} pod spec`);
const container = (role: Role) => {
  const containers = arr(podSpec(role).containers, `${role} containers`);
  expect(containers, `${role}: one container`).toHaveLength(1);
  return obj(containers[0], `${role} container`);
};
const args = (role: Role) => arr(container(role).args, `${role} args`).map((a) => str(a, `${role} arg`));
const flag = (role: Role, name: string) => {
  const a = args(role);
  const i = a.indexOf(name);
  return i >= 0 ? a[i + 1] : undefined;
};

describe('deploy/validate.sh (real validators, offline)', () => {
  it('passes hadolint, shellcheck, docker-compose config, check-jsonschema, kustomize and kubernetes-validate', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'bash',
        [deploy('validate.sh'), '--no-install'],
        { cwd: root, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, output: `${stdout}${stderr}` });
        },
      );
    });
    if (result.code === 3) {
      throw new Error(
        `a deploy validator is not installed, so deploy/ cannot be checked:\n${result.output}\n` +
          'Install them with `bash deploy/validate.sh --install` (or run `bash .ci/run`).',
      );
    }
    expect(result.code, `deploy/validate.sh failed:\n${result.output}`).toBe(0);
    // Every validator actually ran (a check dropped from the script must not go unnoticed).
    for (const check of [
      'PASS hadolint deploy/Dockerfile',
      'PASS shellcheck deploy/*.sh',
      'PASS shellcheck deploy/compose/temporal/*.sh',
      'PASS docker-compose config deploy/compose/docker-compose.yml',
      'PASS check-jsonschema compose-spec deploy/compose/docker-compose.yml',
      'PASS kustomize deploy/k8s\n',
      'PASS kubernetes-validate --strict -k 1.30.0 deploy/k8s\n',
      'PASS kubernetes-validate --strict -k 1.37.0 deploy/k8s\n',
      'PASS check-jsonschema deploy/schemas/keda-v1alpha1.schema.json (deploy/k8s, 2 objects)',
      'PASS kustomize deploy/k8s/overlays/anthropic-proposer',
      'PASS kubernetes-validate --strict -k 1.33.0 deploy/k8s/overlays/anthropic-proposer',
    ]) {
      expect(`${result.output}\n`, `validate.sh output lacks "${check.trim()}"`).toContain(check);
    }
  }, 300_000);
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(deploy('Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('is multi-stage: production dependencies installed in a build stage from a slim Debian node base', () => {
    const froms = instructions.filter((l) => /^FROM /i.test(l));
    expect(froms.length, 'at least a deps stage and a runtime stage').toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS \w+/);
    expect(instructions.find((l) => /^ARG NODE_VERSION=/.test(l))).toBe('ARG NODE_VERSION=20');
    // The install helper runs `npm ci --omit=dev` (falling back as .ci/run does).
    expect(readFileSync(deploy('npm-ci-prod.sh'), 'utf8')).toContain('npm ci --omit=dev');
    const runtimeStart = instructions.findIndex((l) => /^FROM .* AS runtime$/.test(l));
    expect(runtimeStart, 'a stage named runtime').toBeGreaterThan(0);
    expect(instructions.slice(0, runtimeStart).some((l) => l.includes('npm-ci-prod'))).toBe(true);
    expect(instructions.slice(runtimeStart).some((l) => /npm (ci|install)/.test(l)), 'no npm install in the runtime stage').toBe(false);
    expect(instructions.slice(runtimeStart)).toContain('COPY --from=deps /app/node_modules ./node_modules');
  });

  it('runs as a fixed non-root uid with tini as PID 1, `node bin/metaswarm.js worker --role all` by default', () => {
    const users = instructions.filter((l) => /^USER /.test(l));
    expect(users.at(-1)).toBe(`USER ${IMAGE_UID}:${IMAGE_UID}`);
    expect(instructions).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/metaswarm.js"]');
    expect(instructions).toContain('CMD ["worker", "--role", "all"]');
    const apt = instructions.find((l) => l.includes('apt-get install')) ?? '';
    for (const pkg of ['tini', 'python3', 'bubblewrap']) expect(apt, `apt installs ${pkg}`).toMatch(new RegExp(`\\b${pkg}\\b`));
    expect(instructions.some((l) => /^EXPOSE 9464$/.test(l))).toBe(true);
  });

  it('can run the TypeScript CLI with production dependencies only (tsx is a runtime dependency)', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies?: Obj; bin?: Obj };
    expect(Object.keys(pkg.dependencies ?? {})).toContain('tsx');
    expect(pkg.bin?.metaswarm).toBe('bin/metaswarm.js');
  });

  it('keeps local state, tools and node_modules out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', '.metaswarm', '.tools', '.git', 'deploy', '!deploy/npm-ci-prod.sh']) expect(ignored).toContain(p);
  });
});

describe('deploy/k8s', () => {
  it('has a Deployment per role running `worker --role <role>` from the kustomization image', () => {
    const imageName = str(at(kustomization, 'images', 0, 'name'), 'images[0].name');
    for (const role of ROLES) {
      expect(args(role).slice(0, 3), `${role} args`).toEqual(['worker', '--role', role]);
      expect(container(role).image, `${role} image`).toBe(imageName);
      const labels = obj(at(deployments[role], 'spec', 'template', 'metadata', 'labels'), 'labels');
      expect(at(deployments[role], 'spec', 'selector', 'matchLabels')).toEqual(labels);
    }
  });

  it('configures every worker only through the contract variables, secrets from metaswarm-secrets', () => {
    expect(Object.keys(configMap).filter((k) => !CONTRACT_ENV.has(k)), 'unknown ConfigMap keys').toEqual([]);
    for (const name of REQUIRED_ENV) expect(configMap, `ConfigMap sets ${name}`).toHaveProperty(name);
    expect(cm('METASWARM_ARCHIVE')).toBe('nats');
    expect(cm('NATS_URL')).toMatch(/^nats:\/\/[^\s/]+:4222$/);
    expect(cm('TEMPORAL_ADDRESS')).toMatch(/^[^\s:/]+:\d+$/);
    // The optional settings documented in the ConfigMap's comments use contract names too.
    const commented = [...readFileSync(deploy('k8s', 'base', 'configmap.yaml'), 'utf8').matchAll(/^\s*#\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(commented.length).toBeGreaterThan(5);
    expect(commented.filter((k) => !CONTRACT_ENV.has(k)), 'unknown names in configmap.yaml comments').toEqual([]);

    const secretKeys = Object.keys(obj(yamlDoc(deploy('k8s', 'base', 'secret.example.yaml')).stringData, 'secret stringData'));
    for (const role of ROLES) {
      const c = container(role);
      expect(c.envFrom, `${role} loads the ConfigMap`).toEqual([{ configMapRef: { name: 'metaswarm-config' } }]);
      for (const e of arr(c.env ?? [], `${role} env`).map((x) => obj(x, 'env entry'))) {
        const name = str(e.name, 'env name');
        if (name === 'POD_NAME') {
          expect(e.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
          continue;
        }
        expect(CONTRACT_ENV.has(name), `${role}: env ${name} is not a contract variable`).toBe(true);
        const ref = obj(at(e, 'valueFrom', 'secretKeyRef'), `${role} env ${name} secretKeyRef`);
        expect(ref.name).toBe('metaswarm-secrets');
        expect(secretKeys).toContain(ref.key);
        expect(ref.optional, `${role}: ${name} optional, so workers start before the Secret exists`).toBe(true);
      }
    }
    const evaluatorEnv = arr(container('evaluator').env, 'evaluator env').map((e) => at(e, 'name'));
    expect(evaluatorEnv, 'the evaluator gateway needs the model key').toContain('ANTHROPIC_API_KEY');
  });

  it('probes every worker on the metrics port: /healthz for liveness and startup, /readyz for readiness', () => {
    const metricsPort = Number(cm('METASWARM_METRICS_PORT'));
    for (const role of ROLES) {
      const c = container(role);
      const ports = arr(c.ports, `${role} ports`).map((p) => obj(p, 'port'));
      const resolve = (port: unknown) => (typeof port === 'number' ? port : ports.find((p) => p.name === port)?.containerPort);
      for (const [probe, pathname] of [
        ['livenessProbe', '/healthz'],
        ['startupProbe', '/healthz'],
        ['readinessProbe', '/readyz'],
      ] as const) {
        const get = obj(at(c, probe, 'httpGet'), `${role} ${probe}.httpGet`);
        expect(get.path, `${role} ${probe} path`).toBe(pathname);
        expect(resolve(get.port), `${role} ${probe} port`).toBe(metricsPort);
      }
      const annotations = obj(at(deployments[role], 'spec', 'template', 'metadata', 'annotations'), 'annotations');
      expect(annotations['prometheus.io/port']).toBe(String(metricsPort));
      expect(annotations['prometheus.io/path']).toBe('/metrics');
    }
  });

  it('runs every worker as the image uid, non-root, read-only root, no capabilities, no API token', () => {
    for (const role of ROLES) {
      const pod = podSpec(role);
      expect(pod.automountServiceAccountToken, role).toBe(false);
      expect(pod.hostUsers, `${role}: base pods keep the defaults; only the sandbox component sets hostUsers`).toBeUndefined();
      expect(obj(pod.securityContext, `${role} pod securityContext`)).toMatchObject({
        runAsNonRoot: true,
        runAsUser: IMAGE_UID,
        runAsGroup: IMAGE_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(obj(container(role).securityContext, `${role} container securityContext`)).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      // A read-only root needs writable mounts where the worker writes.
      const mounts = arr(container(role).volumeMounts, `${role} mounts`).map((m) => at(m, 'mountPath'));
      for (const p of ['/tmp', '/home/metaswarm', '/app/.metaswarm', cm('METASWARM_MIRROR_DIR')]) expect(mounts, `${role} mounts ${p}`).toContain(p);
    }
  });

  it('sets resource requests and limits on every worker', () => {
    for (const role of ROLES) {
      const resources = obj(container(role).resources, `${role} resources`);
      for (const kind of ['requests', 'limits']) {
        const r = obj(resources[kind], `${role} ${kind}`);
        expect(r.cpu, `${role} ${kind}.cpu`).toBeDefined();
        expect(r.memory, `${role} ${kind}.memory`).toBeDefined();
      }
    }
  });

  it('gives every role enough time to drain its running activities on SIGTERM', () => {
    for (const role of ROLES) {
      const grace = Number(podSpec(role).terminationGracePeriodSeconds);
      expect(grace, `${role} terminationGracePeriodSeconds`).toBeGreaterThanOrEqual(DRAIN_SEC[role]);
      expect(grace).toBeGreaterThan(HEARTBEAT_TIMEOUT_SEC);
    }
  });

  it('leaves the evaluator replica count to KEDA, which scales it on the metaswarm-evaluators backlog', () => {
    expect(obj(deployments.evaluator.spec, 'evaluator spec').replicas, 'a fixed replicas would fight the autoscaler').toBeUndefined();
    for (const role of ['workflow', 'proposer'] as const) expect(at(deployments[role], 'spec', 'replicas')).toBeGreaterThanOrEqual(1);

    const scaled = byKind('ScaledObject');
    expect(scaled).toHaveLength(1);
    const so = scaled[0]!;
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(at(so, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'metaswarm-evaluator' });
    const spec = obj(so.spec, 'ScaledObject spec');
    expect(Number(spec.minReplicaCount)).toBeLessThanOrEqual(Number(spec.maxReplicaCount));

    const triggers = arr(spec.triggers, 'triggers').map((t) => obj(t, 'trigger'));
    expect(triggers.map((t) => t.type)).toEqual(['temporal']);
    const meta = obj(triggers[0]!.metadata, 'temporal trigger metadata');
    expect(meta.taskQueue).toBe(`${cm('METASWARM_QUEUE_PREFIX')}-evaluators`);
    expect(meta.taskQueue).toBe('metaswarm-evaluators');
    expect(meta.endpoint, 'the scaler asks the Temporal the workers use').toBe(cm('TEMPORAL_ADDRESS'));
    expect(meta.namespace).toBe(cm('TEMPORAL_NAMESPACE'));
    expect(meta.queueTypes).toBe('activity');
    expect(meta.targetQueueSize, 'one more pod per evaluator-concurrency waiting evaluations').toBe(flag('evaluator', '--evaluator-concurrency'));

    const authName = at(triggers[0]!, 'authenticationRef', 'name');
    const auth = named('TriggerAuthentication', str(authName, 'authenticationRef.name'));
    expect(at(auth, 'spec', 'secretTargetRef')).toEqual([{ parameter: 'apiKey', name: 'metaswarm-secrets', key: 'TEMPORAL_API_KEY' }]);
  });

  it('limits the workers\' network to the metrics port in, and DNS, Temporal, NATS, HTTPS out', () => {
    const policy = named('NetworkPolicy', 'metaswarm-workers');
    const selector = obj(at(policy, 'spec', 'podSelector', 'matchLabels'), 'podSelector');
    for (const role of ROLES) expect(at(deployments[role], 'spec', 'template', 'metadata', 'labels')).toMatchObject(selector);
    const ports = (rules: unknown) =>
      arr(rules, 'rules').flatMap((r) => arr(obj(r, 'rule').ports, 'ports').map((p) => Number(at(p, 'port'))));
    expect(ports(at(policy, 'spec', 'ingress'))).toEqual([Number(cm('METASWARM_METRICS_PORT'))]);
    expect(ports(at(policy, 'spec', 'egress'))).toEqual(expect.arrayContaining([53, 7233, 4222, 443]));
  });

  it('enforces Pod Security baseline on the namespace; the proposer sandbox overlay opts into bubblewrap', () => {
    expect(at(named('Namespace', 'metaswarm'), 'metadata', 'labels')).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    const overlay = yamlDoc(deploy('k8s', 'overlays', 'anthropic-proposer', 'kustomization.yaml'));
    expect(overlay.resources).toEqual(['../../base']);
    expect(overlay.components).toEqual(['../../components/proposer-sandbox']);
    const patch = yamlDoc(deploy('k8s', 'components', 'proposer-sandbox', 'proposer-sandbox-patch.yaml'));
    expect(at(patch, 'metadata', 'name')).toBe('metaswarm-proposer');
    expect(at(patch, 'spec', 'template', 'spec', 'hostUsers')).toBe(false);
    expect(at(patch, 'spec', 'template', 'spec', 'containers', 0)).toMatchObject({
      name: 'worker',
      securityContext: { procMount: 'Unmasked', appArmorProfile: { type: 'Unconfined' } },
    });
    expect(yamlDoc(deploy('k8s', 'kustomization.yaml')).resources).toEqual(['base']);
  });
});

describe('deploy/compose/docker-compose.yml', () => {
  const compose = yamlDoc(deploy('compose', 'docker-compose.yml'));
  const services = obj(compose.services, 'services');
  const service = (name: string) => obj(services[name], `service ${name}`);
  const workerServices = [...ROLES, 'cli'] as const;

  const seconds = (d: unknown) => {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(str(d, 'duration'));
    if (!m || !m[0]) throw new Error(`not a compose duration: ${String(d)}`);
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  };

  it('has PostgreSQL, Temporal (schema + namespace setup), the Temporal UI, NATS JetStream and the workers', () => {
    for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui', 'nats', ...workerServices]) {
      expect(services, `service ${name}`).toHaveProperty([name]);
    }
    const nats = service('nats');
    expect(nats.command).toEqual(expect.arrayContaining(['-js', '-sd', '/data']));
    expect(arr(nats.volumes, 'nats volumes')).toContain('nats-data:/data');
    expect(obj(compose.volumes, 'volumes')).toHaveProperty(['nats-data']);
    // The setup scripts the admin-tools containers run are where the mounts say.
    for (const script of ['setup-schema.sh', 'create-namespace.sh']) expect(existsSync(deploy('compose', 'temporal', script)), script).toBe(true);
  });

  it('orders start-up with health checks: every depends_on waits on a condition the target can meet', () => {
    for (const [name, raw] of Object.entries(services)) {
      const deps = obj(raw, name).depends_on;
      if (deps === undefined) continue;
      for (const [target, cond] of Object.entries(obj(deps, `${name}.depends_on`))) {
        const condition = str(at(cond, 'condition'), `${name} -> ${target} condition`);
        expect(['service_healthy', 'service_completed_successfully'], `${name} -> ${target}`).toContain(condition);
        if (condition === 'service_healthy') expect(service(target).healthcheck, `${target} needs a healthcheck`).toBeDefined();
      }
    }
    for (const role of ROLES) {
      expect(Object.keys(obj(service(role).depends_on, `${role} depends_on`)).sort()).toEqual(['nats', 'temporal-namespace']);
    }
  });

  it('runs each worker role from the one image, with only the contract variables', () => {
    for (const name of workerServices) {
      const s = service(name);
      expect(s.image, name).toBe('${METASWARM_IMAGE:-metaswarm:local}');
      expect(at(s, 'build', 'dockerfile')).toBe('deploy/Dockerfile');
      const env = obj(s.environment, `${name} environment`);
      expect(Object.keys(env).filter((k) => !CONTRACT_ENV.has(k)), `${name}: unknown variables`).toEqual([]);
      for (const required of REQUIRED_ENV) expect(env, `${name} sets ${required}`).toHaveProperty([required]);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(env.METASWARM_ARCHIVE).toBe('nats');
      // Passed through from the host shell, never written in the file.
      expect(env.ANTHROPIC_API_KEY, `${name}: ANTHROPIC_API_KEY passes through`).toBeNull();
      expect(s.user, `${name} keeps the image's non-root user`).toBeUndefined();
      expect(s.read_only, name).toBe(true);
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(arr(s.volumes, `${name} volumes`)).toContain(String(env.METASWARM_MIRROR_DIR));
    }
    for (const role of ROLES) expect(arr(service(role).command, `${role} command`).slice(0, 3)).toEqual(['worker', '--role', role]);
    const readyz = JSON.stringify(at(service('evaluator'), 'healthcheck', 'test'));
    expect(readyz).toContain(`127.0.0.1:${String(at(service('evaluator'), 'environment', 'METASWARM_METRICS_PORT'))}/readyz`);
  });

  it('lets the evaluator scale with --scale: no container_name, no host ports; long drain on stop', () => {
    const evaluator = service('evaluator');
    expect(evaluator.container_name).toBeUndefined();
    expect(evaluator.ports).toBeUndefined();
    expect(seconds(evaluator.stop_grace_period)).toBeGreaterThanOrEqual(DRAIN_SEC.evaluator);
    expect(seconds(service('proposer').stop_grace_period)).toBeGreaterThanOrEqual(DRAIN_SEC.proposer);
    expect(seconds(service('workflow').stop_grace_period)).toBeGreaterThanOrEqual(DRAIN_SEC.workflow);
    // No service pins a container name: compose project names keep clusters apart.
    for (const [name, s] of Object.entries(services)) expect(obj(s, name).container_name, name).toBeUndefined();
  });

  it('has a one-shot cli service that only `docker compose run` starts', () => {
    const cli = service('cli');
    expect(cli.profiles).toEqual(['cli']);
    expect(cli.restart).toBe('no');
    expect(cli.ports).toBeUndefined();
  });

  it('gives the proposer what bubblewrap needs, and only the proposer', () => {
    const opts = (name: string) => arr(service(name).security_opt, `${name} security_opt`);
    expect(opts('proposer')).toEqual(expect.arrayContaining(['seccomp=unconfined', 'apparmor=unconfined', 'systempaths=unconfined']));
    for (const name of ['workflow', 'evaluator', 'cli']) expect(opts(name)).toEqual(['no-new-privileges:true']);
  });
});
