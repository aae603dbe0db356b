import { describe, expect, it } from 'vitest';
import { BundleJob, MAX_BUNDLE, bundleJobIdOf, type TaskJob, type TaskSpec } from '@tessera/protocol';
import { bundleJobs } from './bundles.js';
import { queuedJobId } from './job-queues.js';

function task(i: number, over: Partial<TaskSpec> = {}): { spec: TaskSpec; job: TaskJob } {
  const key = `add-0123456789abcdef:${i}`;
  const spec: TaskSpec = { key, op: 'add', params: {}, deps: [], shape: [1], dtype: 'float64', nbytes: 8, priority: i, ...over };
  return { spec, job: { graph: 'g', key, spec: 'AA==', inputs: [], output: true, attempt: 0 } };
}

function run(tasks: { spec: TaskSpec; job: TaskJob }[], threads: number): ReturnType<typeof bundleJobs> {
  const specs = new Map(tasks.map((t) => [t.spec.key, t.spec]));
  return bundleJobs(
    tasks.map((t) => t.job),
    (k) => specs.get(k),
    threads,
  );
}

const keysOf = (jobs: ReturnType<typeof bundleJobs>): string[] => jobs.flatMap((j) => ('tasks' in j ? j.tasks.map((t) => t.key) : [j.key]));

describe('bundleJobs', () => {
  it('packs tiny tasks into bundles, two per thread at least, never above MAX_BUNDLE, losing none', () => {
    const tasks = Array.from({ length: 1_000 }, (_, i) => task(i));
    const two = run(tasks.slice(0, 64), 2);
    expect(two).toHaveLength(4);
    expect(two.every((j) => 'tasks' in j && BundleJob.safeParse(j).success)).toBe(true);
    const many = run(tasks, 2);
    expect(many.every((j) => 'tasks' in j && j.tasks.length <= MAX_BUNDLE)).toBe(true);
    expect(keysOf(many).sort()).toEqual(tasks.map((t) => t.spec.key).sort());
    // Too few to share: each goes alone, as an ordinary task job.
    expect(run(tasks.slice(0, 3), 2).every((j) => !('tasks' in j))).toBe(true);
  });

  it('sends big tasks, user kernels and GPU tasks alone', () => {
    const tasks = [
      ...Array.from({ length: 40 }, (_, i) => task(i)),
      task(100, { nbytes: 1 << 20, shape: [131_072] }),
      task(101, { op: 'map-blocks' }),
      task(102, { device: 'gpu', dtype: 'float32', nbytes: 4 }),
    ];
    const jobs = run(tasks, 1);
    const alone = jobs.filter((j) => !('tasks' in j)).map((j) => ('key' in j ? j.key : ''));
    expect(alone).toEqual(['add-0123456789abcdef:100', 'add-0123456789abcdef:101', 'add-0123456789abcdef:102']);
    expect(keysOf(jobs)).toHaveLength(43);
  });

  it('names a bundle by its first task, apart from any task job id', () => {
    const jobs = run(
      Array.from({ length: 8 }, (_, i) => task(i)),
      1,
    );
    const first = jobs[0]!;
    expect('tasks' in first).toBe(true);
    if (!('tasks' in first)) return;
    expect(queuedJobId(first)).toBe(bundleJobIdOf(first.tasks[0]!));
    expect(queuedJobId(first)).toBe('+add-0123456789abcdef@0');
    expect(queuedJobId(first.tasks[0]!)).toBe('add-0123456789abcdef@0');
  });
});
