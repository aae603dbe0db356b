import { promoteTypes, type Dtype, type Instruction, type Operand } from '@tessera/protocol';
import { convert, lit, valueType } from './common.js';

const ZERO: Record<string, string> = { float32: '0.0', int32: '0', uint8: '0u', bool: '0u' };

/** WGSL lines computing a program; returns the lines and the result's name. */
export function programCode(
  program: readonly Instruction[],
  inputDtypes: readonly Dtype[],
  helpers: Set<string>,
): { lines: string[]; result: string } {
  const lines: string[] = [];
  const operand = (o: Operand): { e: string; d: Dtype } => {
    if ('input' in o) return { e: `x${o.input}`, d: inputDtypes[o.input]! };
    if ('ref' in o) return { e: `v${o.ref}`, d: program[o.ref]!.dtype };
    return { e: lit(o.dtype, o.const), d: o.dtype };
  };
  program.forEach((ins, i) => {
    const args = ins.args.map(operand);
    const D = ins.dtype;
    const a = args[0]!;
    const b = args[1];
    const c = args[2];
    const A = (): string => convert(a.e, a.d, D);
    const B = (): string => convert(b!.e, b!.d, D);
    let e: string;
    const wrap = (x: string): string => (D === 'uint8' ? `((${x}) & 255u)` : `(${x})`);
    switch (ins.op) {
      case 'add':
        // numpy's bool add is logical or, its bool multiply logical and.
        e = D === 'bool' ? `(${A()} | ${B()})` : wrap(`${A()} + ${B()}`);
        break;
      case 'sub':
        e = wrap(`${A()} - ${B()}`);
        break;
      case 'mul':
        e = D === 'bool' ? `(${A()} & ${B()})` : wrap(`${A()} * ${B()}`);
        break;
      case 'div':
        e = `(${A()} / ${B()})`;
        break;
      case 'pow': {
        const konst = 'const' in ins.args[1]! ? (ins.args[1] as { const: number }).const : undefined;
        if (D === 'float32') {
          const k = konst === undefined ? undefined : Math.fround(konst);
          if (k === 2) e = `(${A()} * ${A()})`;
          else if (k === 1) e = A();
          else if (k === 0) e = '1.0';
          else {
            helpers.add('powf');
            e = `powf(${A()}, ${B()})`;
          }
        } else if (D === 'int32') {
          helpers.add('ipowi');
          e = `ipowi(${A()}, ${B()})`;
        } else {
          helpers.add('ipowu');
          e = `(ipowu(${A()}, ${B()}) & 255u)`;
        }
        break;
      }
      case 'maximum':
      case 'minimum':
        if (D === 'float32') {
          const f = ins.op === 'maximum' ? 'maxf' : 'minf';
          helpers.add(f);
          e = `${f}(${A()}, ${B()})`;
        } else e = `${ins.op === 'maximum' ? 'max' : 'min'}(${A()}, ${B()})`;
        break;
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
      case 'eq':
      case 'ne': {
        const C = promoteTypes(a.d, b!.d);
        const sym = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' }[ins.op];
        e = `select(0u, 1u, ${convert(a.e, a.d, C)} ${sym} ${convert(b!.e, b!.d, C)})`;
        break;
      }
      case 'where':
        // A float condition through the bool cast: NaN is true.
        e = `select(${convert(c!.e, c!.d, D)}, ${convert(b!.e, b!.d, D)}, ${a.d === 'float32' ? `${convert(a.e, a.d, 'bool')} != 0u` : `${a.e} != ${ZERO[a.d]}`})`;
        break;
      case 'neg':
        e = D === 'uint8' ? `((0u - ${A()}) & 255u)` : `(-${A()})`;
        break;
      case 'abs':
        e = D === 'uint8' || D === 'bool' ? A() : `abs(${A()})`;
        break;
      case 'sqrt':
      case 'exp':
      case 'log':
        e = `${ins.op}(${A()})`;
        break;
      case 'sin':
      case 'cos':
      case 'tanh':
        helpers.add(`${ins.op}f`);
        e = `${ins.op}f(${A()})`;
        break;
      case 'astype':
        e = convert(a.e, a.d, D);
        break;
      case 'floor':
      case 'ceil':
      case 'trunc':
        e = `${ins.op}(${A()})`;
        break;
      case 'rint':
        e = `round(${A()})`; // WGSL's round is half to even, as numpy's rint
        break;
      case 'sign':
        if (D === 'float32') {
          helpers.add('signf');
          e = `signf(${A()})`;
        } else e = D === 'int32' ? `sign(${A()})` : `select(0u, 1u, ${A()} != 0u)`;
        break;
      case 'square':
        e = wrap(`${A()} * ${A()}`);
        break;
      case 'reciprocal':
        e = `(1.0 / ${A()})`; // float32 only: gpuUnsupported keeps integer reciprocals on the CPU
        break;
      case 'log2':
      case 'exp2':
        e = `${ins.op}(${A()})`;
        break;
      case 'log10':
        e = `(log2(${A()}) * 0.30102999566398120)`;
        break;
      case 'degrees':
        e = `(${A()} * 57.295779513082323)`;
        break;
      case 'radians':
        e = `(${A()} * 0.017453292519943295)`;
        break;
      case 'isnan':
      case 'isinf':
      case 'isfinite': {
        // On the bits (a compiler may assume NaN and infinities away in float compares); integers are always finite.
        const bits = `(bitcast<u32>(${a.e}) & 0x7fffffffu)`;
        const t = { isnan: `${bits} > 0x7f800000u`, isinf: `${bits} == 0x7f800000u`, isfinite: `${bits} < 0x7f800000u` }[ins.op];
        e = a.d === 'float32' ? `select(0u, 1u, ${t})` : ins.op === 'isfinite' ? '1u' : '0u';
        break;
      }
      case 'logical_not':
        e = `(1u - ${convert(a.e, a.d, 'bool')})`;
        break;
      case 'logical_and':
      case 'logical_or':
      case 'logical_xor': {
        const sym = { logical_and: '&', logical_or: '|', logical_xor: '^' }[ins.op];
        e = `(${convert(a.e, a.d, 'bool')} ${sym} ${convert(b!.e, b!.d, 'bool')})`;
        break;
      }
      case 'invert':
        e = D === 'bool' ? `(${A()} ^ 1u)` : D === 'uint8' ? `(~${A()} & 255u)` : `(~${A()})`;
        break;
      case 'bitwise_and':
      case 'bitwise_or':
      case 'bitwise_xor': {
        const sym = { bitwise_and: '&', bitwise_or: '|', bitwise_xor: '^' }[ins.op];
        e = `(${A()} ${sym} ${B()})`;
        break;
      }
      case 'copysign':
        e = `bitcast<f32>((bitcast<u32>(${A()}) & 0x7fffffffu) | (bitcast<u32>(${B()}) & 0x80000000u))`;
        break;
      default:
        // gpuUnsupported keeps every other op on the CPU.
        throw new Error(`no WGSL for elementwise op ${ins.op}`);
    }
    if (e.includes('f2i(')) helpers.add('f2i');
    lines.push(`let v${i}: ${valueType(D)} = ${e};`);
  });
  return { lines, result: `v${program.length - 1}` };
}
