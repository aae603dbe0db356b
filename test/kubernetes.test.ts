// deploy/kubernetes, checked without a Kubernetes cluster: every object against the Kubernetes
// (and KEDA) object schemas of kubernetes-models, the wiring between them (selectors, services,
// secrets, probe ports), and then the pods as processes: the scheduler, workers and dashboard
// started with each container's args and environment, service names made local, their probes
// answering, a graph computing, and the endpoint and value KEDA's trigger reads.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import * as ta from '@tessera/client';
import { Backlog } from '@tessera/protocol';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';

const ROOT = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const require = createRequire(import.meta.url);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string | number> };
}

/** The kubernetes-models class of each kind the manifests use. */
const MODELS: Record<string, string> = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  'keda.sh/v1alpha1/TriggerAuthentication': '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
};

/** The objects a kustomization builds: its resources, followed into bases (what `kubectl apply -k` applies). */
function build(dir: string): K8sObject[] {
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  return k.resources.flatMap((r) => {
    const path = join(dir, r);
    expect(existsSync(path), `${dir}: resource ${r}`).toBe(true);
    if (existsSync(join(path, 'kustomization.yaml'))) return build(path);
    return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as K8sObject);
  });
}

const overlays = ['base', ...readdirSync(join(ROOT, 'overlays')).map((o) => `overlays/${o}`)];
const containersOf = (o: K8sObject): Container[] => ((o.spec?.template as { spec: { containers: Container[] } } | undefined)?.spec.containers ?? []);
const base = build(join(ROOT, 'base'));
const find = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  expect(o, `${kind} ${name}`).toBeDefined();
  return o!;
};
const container = (name: string, objs = base): Container => containersOf(find(objs, 'Deployment', name))[0]!;

describe('deploy/kubernetes, statically', () => {
  it.each(overlays)('%s: every object is valid against its Kubernetes (or KEDA) schema', (dir) => {
    const objs = build(join(ROOT, dir));
    expect(objs.length).toBeGreaterThan(5);
    for (const o of objs) {
      const model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(model, `a schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
      const cls = Object.values(require(model!) as Record<string, new (v: unknown) => { validate(): void }>)[0]!;
      expect(() => new cls(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
    // The check can fail: a broken copy of the first workload is refused.
    const w = structuredClone(objs.find((o) => o.kind === 'Deployment')!);
    (w.spec as { replicas: unknown }).replicas = 'two';
    const cls = Object.values(require(MODELS['apps/v1/Deployment']!) as Record<string, new (v: unknown) => { validate(): void }>)[0]!;
    expect(() => new cls(w).validate()).toThrow(/replicas/);
  });

  it.each(overlays)('%s: selectors find their pods, services their ports, env its secrets, probes their ports', (dir) => {
    const objs = build(join(ROOT, dir));
    const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    for (const w of workloads) {
      const spec = w.spec as { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
      expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
      for (const c of containersOf(w)) {
        for (const probe of [c.readinessProbe, c.livenessProbe]) if (probe?.httpGet) expect(c.ports.map((p) => p.name)).toContain(probe.httpGet.port);
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(find(objs, 'Secret', ref.name).stringData).toHaveProperty(ref.key);
        }
        expect(c.resources?.requests, `${w.metadata.name} requests resources`).toBeDefined();
      }
    }
    for (const s of objs.filter((o) => o.kind === 'Service')) {
      const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const pods = workloads.filter((w) => Object.entries(spec.selector).every(([k, v]) => (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels[k] === v));
      expect(pods.length, `pods of Service ${s.metadata.name}`).toBeGreaterThan(0);
      for (const p of spec.ports) expect(pods.flatMap(containersOf).flatMap((c) => c.ports.map((x) => x.name))).toContain(p.targetPort);
    }
    // Scalers and budgets name a workload that exists.
    for (const o of objs.filter((x) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(x.kind))) find(objs, 'Deployment', (o.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name);
  });

  it('the drain fits the grace period; one scheduler at a time; a GPU worker asks for a GPU; Redis only for the scheduler and workers', () => {
    const worker = find(base, 'Deployment', 'tessera-worker');
    const grace = (worker.spec as { template: { spec: { terminationGracePeriodSeconds: number } } }).template.spec.terminationGracePeriodSeconds;
    const drainMs = Number(container('tessera-worker').env.find((e) => e.name === 'TESSERA_SHUTDOWN_TIMEOUT_MS')!.value);
    expect(grace * 1000).toBeGreaterThan(drainMs + 5_000);
    expect((find(base, 'Deployment', 'tessera-scheduler').spec as { strategy: { type: string }; replicas: number })).toMatchObject({ strategy: { type: 'Recreate' }, replicas: 1 });
    const gpu = container('tessera-worker-gpu', build(join(ROOT, 'overlays/gpu')));
    expect(gpu.args).toEqual(['worker', '--gpu']);
    expect(gpu.resources!.limits!['nvidia.com/gpu']).toBe(1);
    const redisPolicy = find(base, 'NetworkPolicy', 'tessera-redis').spec as { ingress: { from: { podSelector: { matchExpressions: { values: string[] }[] } }[] }[] };
    expect(redisPolicy.ingress[0]!.from[0]!.podSelector.matchExpressions[0]!.values).toEqual(['scheduler', 'worker']);
  });

  it('every TESSERA_* variable a container sets is one its command reads (tessera <command> --help)', () => {
    const helps = new Map<string, string>();
    const helpOf = (command: string): string =>
      helps.get(command) ?? helps.set(command, spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8' }).stdout).get(command)!;
    for (const dir of overlays) {
      for (const w of build(join(ROOT, dir)).filter((o) => o.kind === 'Deployment')) {
        for (const c of containersOf(w)) {
          const help = helpOf(c.args[0]!);
          const unknown = c.env.map((e) => e.name).filter((n) => n.startsWith('TESSERA_') && !help.includes(n));
          expect([w.metadata.name, unknown]).toEqual([w.metadata.name, []]);
        }
      }
    }
  });
});

describe('the Kubernetes pods as processes', () => {
  const children: ChildProcess[] = [];
  let redis: TestRedis | undefined;
  let prefix = '';
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (redis) {
      await redis.deletePrefix(prefix);
      await redis.close();
    }
  });

  function start(c: Container, env: Record<string, string>, ready: RegExp, log: string[]): Promise<RegExpMatchArray> {
    const child = spawn(process.execPath, [BIN, ...c.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${c.args.join(' ')} did not start:\n${log.join('')}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = ready.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
      child.once('exit', (code) => reject(new Error(`${c.args.join(' ')} exited ${code}:\n${log.join('')}`)));
    });
  }

  it('scheduler, two workers and the dashboard with the manifests\' args and env: probes answer, a graph computes, KEDA\'s endpoint reads', { timeout: 90_000 }, async () => {
    redis = await testRedis();
    prefix = `tessera-k8s-${process.pid}-${Date.now() % 100_000}`;
    const token = (find(base, 'Secret', 'tessera-token').stringData!).token!;
    const log: string[] = [];
    /** What the kubelet would give the container, with service names and ports made this machine's. */
    const envOf = (c: Container, schedulerUrl = ''): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const e of c.env) {
        let v = e.value ?? (e.valueFrom?.secretKeyRef ? token : e.valueFrom?.fieldRef?.fieldPath === 'status.podIP' ? '127.0.0.1' : '');
        v = v.replace('redis://tessera-redis:6379', redis!.url).replace('http://tessera-scheduler:8786', schedulerUrl);
        if (['TESSERA_HOST', 'TESSERA_WORKER_BIND', 'TESSERA_DASHBOARD_HOST'].includes(e.name)) v = '127.0.0.1';
        if (['TESSERA_PORT', 'TESSERA_WORKER_PORT', 'TESSERA_DASHBOARD_PORT'].includes(e.name)) v = '0';
        if (e.name === 'TESSERA_PREFIX') v = prefix;
        out[e.name] = v;
      }
      return out;
    };
    const probes = async (c: Container, url: string): Promise<number[]> =>
      Promise.all([c.readinessProbe!, c.livenessProbe!].map(async (p) => (await fetch(`${url}${p.httpGet!.path}`)).status));
    const sc = container('tessera-scheduler');
    const url = (await start(sc, envOf(sc), /listening on (http:\/\/\S+)/, log))[1]!;
    const wc = container('tessera-worker');
    const workers = await Promise.all([0, 1].map(async () => (await start(wc, envOf(wc, url), /serving chunks at (http:\/\/\S+)/, log))[1]!));
    for (const w of workers) expect(await probes(wc, w)).toEqual([200, 200]);
    expect(await probes(sc, url)).toEqual([200, 200]);
    const dc = container('tessera-dashboard');
    const dash = (await start(dc, envOf(dc, url), /listening on (http:\/\/\S+)/, log))[1]!;
    expect(await probes(dc, dash)).toEqual([200, 200]);

    const client = await ta.Client.connect({ address: url, token });
    try {
      expect(await client.compute(ta.arange(10_000, { chunks: 1_000 }).mul(2).sum())).toBe(99_990_000);
    } finally {
      await client.close();
    }
    // What the ScaledObject's metrics-api trigger asks, with the TriggerAuthentication's bearer token.
    const keda = build(join(ROOT, 'overlays/keda'));
    const trigger = (find(keda, 'ScaledObject', 'tessera-worker').spec as { triggers: { metadata: { url: string; valueLocation: string } }[] }).triggers[0]!.metadata;
    const res = await fetch(trigger.url.replace('http://tessera-scheduler:8786', url), { headers: { authorization: `Bearer ${token}` } });
    const backlog = Backlog.parse(await res.json());
    expect(backlog[trigger.valueLocation as keyof Backlog]).toBe(0);
    expect(backlog).toMatchObject({ workers: 2, threads: 4 });
    expect(dirname(trigger.url)).toMatch(/\/api$/);
  });
});
