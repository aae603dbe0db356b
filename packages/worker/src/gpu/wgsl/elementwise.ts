import { sizeOf, type Dtype, type ElementwiseParams } from '@tessera/protocol';
import { collapse } from '../../kernels/strided.js';
import { PRELUDE, WG, arrayElem, decompose, grid, helperCode, Params, storageBytes, type Storage } from './common.js';
import { addressed, bindingsCode, resolveViews, valueCall, valueFn, type DeviceInput } from './views.js';

export type { DeviceInput } from './views.js';

/**
 * WGSL for a fused elementwise program: one shader per chain, generated from the same program
 * the CPU block interpreter runs (every instruction of `sin(x)**2 + cos(x)**2` in one kernel), with
 * the chunk's shape and each input's view (transpose perm, broadcast) baked in as constants.
 * The runner caches pipelines by the generated source, so the source is the chain's signature.
 * With `reduce`, the value feeds a reduction instead of being stored (see reducePlan, reduce.ts).
 */

export interface KernelPlan {
  code: string;
  /** Workgroups in x and y. */
  dispatch: [number, number];
  /** Words of the `prm` buffer (bound after the inputs), when the kernel takes any. */
  params?: Uint32Array | undefined;
}

export interface ElementwisePlan extends KernelPlan {
  outStorage: Storage;
  outBytes: number;
}

/** The kernel of a fused program (without `reduce`), storing its value into a new chunk. */
export function elementwisePlan(
  p: ElementwiseParams,
  deps: readonly DeviceInput[],
  outDtype: Dtype,
  opts: { f16: boolean; maxWorkgroups: number },
): ElementwisePlan {
  if (p.reduce) throw new Error('elementwisePlan: the program has a reduction (use reducePlan)');
  const D = p.domain;
  const n = sizeOf(D);
  const views = resolveViews(p, deps);
  const helpers = new Set<string>();
  const prm = new Params();
  const { code: fn, resultDtype } = valueFn(views, p.program, helpers, prm);
  for (const v of views) if (v.kind === 'random') v.baseExpr = prm.u64(v.base);
  if (resultDtype !== outDtype) throw new Error(`elementwise: the program gives ${resultDtype}, the task declares ${outDtype}`);
  const outStorage: Storage = outDtype === 'float32' ? (opts.f16 ? 'f16' : 'f32') : outDtype === 'int32' ? 'i32' : 'u8';
  const addr = addressed(views);
  const { dims, strides } = collapse(
    D,
    addr.map((j) => (views[j] as { strides: number[] }).strides),
  );
  const per = outStorage === 'u8' ? 4 : 1;
  const threads = Math.ceil(n / per);
  const [wx, wy] = grid(threads, opts.maxWorkgroups);
  const { code: dec, idx } = decompose('o', dims, 'i');
  const call = valueCall(views, idx, strides);
  let body: string;
  if (outStorage === 'u8') {
    body = `var w = 0u;
  for (var q = 0u; q < 4u; q++) {
    let o = t * 4u + q;
    if (o >= ${n}u) { break; }
    ${dec.replace(/\n {2}/g, '\n    ')}
    w = w | (${call} << (q * 8u));
  }
  out[t] = w;`;
  } else {
    const v = outStorage === 'f16' ? `f16(${call})` : call;
    body = `let o = t;
  ${dec}
  out[o] = ${v};`;
  }
  const code = `${opts.f16 ? 'enable f16;\n' : ''}${PRELUDE}
${bindingsCode(views, { elem: arrayElem(outStorage) }, 1)}
${prm.binding(1 + deps.length)}
${helperCode(helpers)}
${fn}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * ${wx}u + wid.x) * ${WG}u + lid;
  if (t >= ${threads}u) { return; }
  ${body}
}
`;
  return { code, dispatch: [wx, wy], outStorage, outBytes: storageBytes(outStorage, n), params: prm.data() };
}
