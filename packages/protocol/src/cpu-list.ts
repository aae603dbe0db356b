import { InvalidArgumentError } from './errors.js';

/**
 * A CPU list as taskset, numactl and /proc/<pid>/status's Cpus_allowed_list write it: "0-3,8,10-11".
 * Returns the CPUs sorted, each once; anything else is an InvalidArgumentError naming the part.
 */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`CPU list ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a CPU number or a range a-b`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidArgumentError(`CPU list ${JSON.stringify(text)}: the range ${part} runs backwards`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The shortest CPU list of a set: [0, 1, 2, 3, 8] gives "0-3,8". */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(j === i ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
