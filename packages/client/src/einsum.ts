import { InvalidArgumentError, ShapeError, fmtShape, isFloat } from '@tessera/protocol';
import type { ChunkedArray } from './array.js';
import { astype, mul } from './elementwise.js';
import { diagonal } from './linalg-more.js';
import { tensordot } from './linalg.js';
import { sum } from './reductions.js';
import { reshape, transpose } from './structure.js';
import { requireKnown } from './deferred.js';

/** An operand with the subscript letter of each of its axes. */
interface Term {
  x: ChunkedArray;
  letters: string[];
}

/**
 * numpy.einsum for explicit (`ij,jk->ik`) and implicit (`ij,jk`) subscripts, with ellipses
 * (`...ij,...jk->...ik`: the axes an operand's letters leave, aligned from the right across
 * operands, as numpy broadcasts them; an implicit output puts them first).
 * Repeated letters in one operand take its diagonal; letters only one operand has and the output
 * lacks are summed there first; operands are then contracted pairwise, left to right, through
 * tensordot (so a matrix product runs on the GEMM kernels), or, when a shared letter stays in the
 * output (a batch axis), as a broadcast product summed over the contracted letters.
 */
export function einsum(subscripts: string, ...operands: ChunkedArray[]): ChunkedArray {
  requireKnown('einsum', ...operands);
  const spec = expandEllipses(subscripts.replace(/\s+/g, ''), operands);
  const [lhs = '', rhs] = spec.split('->');
  const inputs = lhs.split(',');
  if (inputs.length !== operands.length) throw new InvalidArgumentError(`einsum: ${inputs.length} operand subscripts for ${operands.length} operands`);
  for (const s of [...inputs, rhs ?? '']) if (!/^[a-zA-Z]*$/.test(s)) throw new InvalidArgumentError(`einsum: subscripts must be letters, got '${s}'`);
  const counts = new Map<string, number>();
  for (const l of inputs.join('')) counts.set(l, (counts.get(l) ?? 0) + 1);
  // Implicit output: the letters that appear once, in alphabetical order.
  const output = rhs !== undefined ? [...rhs] : [...counts.keys()].filter((l) => counts.get(l) === 1).sort();
  if (new Set(output).size !== output.length) throw new InvalidArgumentError(`einsum: output subscript '${rhs}' repeats a letter`);
  const sizes = new Map<string, number>();
  const terms: Term[] = operands.map((x, k) => {
    const letters = [...inputs[k]!];
    if (letters.length !== x.ndim) throw new ShapeError(`einsum: operand ${k} has shape ${fmtShape(x.shape)} but subscripts '${inputs[k]}'`);
    letters.forEach((l, ax) => {
      const d = x.shape[ax]!;
      const seen = sizes.get(l);
      if (seen !== undefined && seen !== d) throw new ShapeError(`einsum: letter '${l}' has sizes ${seen} and ${d}`);
      sizes.set(l, d);
    });
    return { x, letters };
  });
  for (const l of output) if (!sizes.has(l)) throw new InvalidArgumentError(`einsum: output letter '${l}' is in no operand`);
  const reduced = terms.map((t, k) => {
    const wanted = new Set([...output, ...terms.filter((_, j) => j !== k).flatMap((o) => o.letters)]);
    return sumOut(diagonals(t), wanted);
  });
  let acc = reduced[0]!;
  for (let k = 1; k < reduced.length; k++) {
    const later = new Set([...output, ...reduced.slice(k + 1).flatMap((t) => t.letters)]);
    acc = contractPair(acc, reduced[k]!, later);
  }
  acc = sumOut(acc, new Set(output));
  if (acc.letters.length === 0) return acc.x;
  return transpose(acc.x, output.map((l) => acc.letters.indexOf(l)));
}

/**
 * Subscripts with each '...' replaced by letters no operand uses, one per axis it stands for; the
 * axes of all ellipses are aligned from the right (operand k's ellipsis takes the last of them).
 */
function expandEllipses(spec: string, operands: readonly ChunkedArray[]): string {
  if (!spec.includes('.')) return spec;
  const [lhs = '', rhs] = spec.split('->');
  const inputs = lhs.split(',');
  const bad = [...inputs, rhs ?? ''].find((s) => s.replace('...', '').includes('.'));
  if (bad !== undefined) throw new InvalidArgumentError(`einsum: '.' is only allowed as one '...' per operand, got '${bad}'`);
  const span = inputs.map((s, k) => (s.includes('...') ? (operands[k]?.ndim ?? 0) - (s.length - 3) : 0));
  const bad2 = span.findIndex((n) => n < 0);
  if (bad2 >= 0) throw new ShapeError(`einsum: operand ${bad2} has shape ${fmtShape(operands[bad2]!.shape)}, fewer axes than subscripts '${inputs[bad2]}' name`);
  const width = Math.max(0, ...span);
  const used = new Set(spec);
  const free = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].filter((l) => !used.has(l));
  if (free.length < width) throw new InvalidArgumentError(`einsum: '...' stands for ${width} axes, more than the letters left`);
  const dots = free.slice(0, width);
  const ins = inputs.map((s, k) => s.replace('...', dots.slice(width - span[k]!).join('')));
  // Implicit output: the ellipsis axes first, then the letters that appear once, sorted.
  const out = rhs !== undefined ? rhs.replace('...', dots.join('')) : dots.join('') + [...ins.join('')].filter((l, _, all) => !dots.includes(l) && all.indexOf(l) === all.lastIndexOf(l)).sort().join('');
  return `${ins.join(',')}->${out}`;
}

/** A letter repeated in one operand: its diagonal (numpy: 'ii->i'). */
function diagonals(t: Term): Term {
  for (;;) {
    const dup = t.letters.findIndex((l, i) => t.letters.indexOf(l) !== i);
    if (dup < 0) return t;
    const first = t.letters.indexOf(t.letters[dup]!);
    const rest = t.letters.filter((_, i) => i !== first && i !== dup);
    t = { x: diagonal(t.x, 0, first, dup), letters: [...rest, t.letters[dup]!] };
  }
}

/** Sum the axes whose letters are not wanted (in the operand's dtype, as numpy's einsum: integer sums come back to it). */
function sumOut(t: Term, wanted: ReadonlySet<string>): Term {
  const axes = t.letters.flatMap((l, i) => (wanted.has(l) ? [] : [i]));
  if (axes.length === 0) return t;
  const s = sum(t.x, { axis: axes });
  return { x: isFloat(t.x.dtype) ? s : astype(s, t.x.dtype), letters: t.letters.filter((l) => wanted.has(l)) };
}

function contractPair(a: Term, b: Term, later: ReadonlySet<string>): Term {
  const shared = a.letters.filter((l) => b.letters.includes(l));
  const contracted = shared.filter((l) => !later.has(l));
  const batch = shared.filter((l) => later.has(l));
  if (batch.length === 0) {
    const x = tensordot(a.x, b.x, { axes: [contracted.map((l) => a.letters.indexOf(l)), contracted.map((l) => b.letters.indexOf(l))] });
    return { x, letters: [...a.letters.filter((l) => !contracted.includes(l)), ...b.letters.filter((l) => !contracted.includes(l))] };
  }
  // A letter both keep: line both up on the union of letters (size 1 where one lacks it), multiply, sum the contracted.
  const union = [...a.letters, ...b.letters.filter((l) => !a.letters.includes(l))];
  const align = (t: Term): ChunkedArray => {
    const own = union.filter((l) => t.letters.includes(l));
    const moved = transpose(t.x, own.map((l) => t.letters.indexOf(l)));
    return reshape(moved, union.map((l) => (t.letters.includes(l) ? t.x.shape[t.letters.indexOf(l)]! : 1)));
  };
  return sumOut({ x: mul(align(a), align(b)), letters: union }, new Set(union.filter((l) => !contracted.includes(l))));
}
