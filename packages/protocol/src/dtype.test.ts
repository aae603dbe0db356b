import { describe, expect, it } from 'vitest';
import { accumulatorType, castScalar, DTYPES, floatResultType, promoteTypes, promoteWithScalar } from './dtype.js';
import { elementwiseResultDtype } from './ops/elementwise.js';
import { reductionResultDtype } from './ops/reduction.js';

// numpy.promote_types over our dtypes, as numpy 1.24 answers it (printed once by python3).
const NUMPY_PROMOTE: Record<string, Record<string, string>> = {"float64": {"float64": "float64", "float32": "float64", "int64": "float64", "int32": "float64", "int16": "float64", "int8": "float64", "uint64": "float64", "uint32": "float64", "uint16": "float64", "uint8": "float64", "bool": "float64", "complex128": "complex128", "complex64": "complex128"}, "float32": {"float64": "float64", "float32": "float32", "int64": "float64", "int32": "float64", "int16": "float32", "int8": "float32", "uint64": "float64", "uint32": "float64", "uint16": "float32", "uint8": "float32", "bool": "float32", "complex128": "complex128", "complex64": "complex64"}, "int64": {"float64": "float64", "float32": "float64", "int64": "int64", "int32": "int64", "int16": "int64", "int8": "int64", "uint64": "float64", "uint32": "int64", "uint16": "int64", "uint8": "int64", "bool": "int64", "complex128": "complex128", "complex64": "complex128"}, "int32": {"float64": "float64", "float32": "float64", "int64": "int64", "int32": "int32", "int16": "int32", "int8": "int32", "uint64": "float64", "uint32": "int64", "uint16": "int32", "uint8": "int32", "bool": "int32", "complex128": "complex128", "complex64": "complex128"}, "int16": {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int16", "uint64": "float64", "uint32": "int64", "uint16": "int32", "uint8": "int16", "bool": "int16", "complex128": "complex128", "complex64": "complex64"}, "int8": {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint64": "float64", "uint32": "int64", "uint16": "int32", "uint8": "int16", "bool": "int8", "complex128": "complex128", "complex64": "complex64"}, "uint64": {"float64": "float64", "float32": "float64", "int64": "float64", "int32": "float64", "int16": "float64", "int8": "float64", "uint64": "uint64", "uint32": "uint64", "uint16": "uint64", "uint8": "uint64", "bool": "uint64", "complex128": "complex128", "complex64": "complex128"}, "uint32": {"float64": "float64", "float32": "float64", "int64": "int64", "int32": "int64", "int16": "int64", "int8": "int64", "uint64": "uint64", "uint32": "uint32", "uint16": "uint32", "uint8": "uint32", "bool": "uint32", "complex128": "complex128", "complex64": "complex128"}, "uint16": {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32", "int16": "int32", "int8": "int32", "uint64": "uint64", "uint32": "uint32", "uint16": "uint16", "uint8": "uint16", "bool": "uint16", "complex128": "complex128", "complex64": "complex64"}, "uint8": {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int16", "uint64": "uint64", "uint32": "uint32", "uint16": "uint16", "uint8": "uint8", "bool": "uint8", "complex128": "complex128", "complex64": "complex64"}, "bool": {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8", "uint64": "uint64", "uint32": "uint32", "uint16": "uint16", "uint8": "uint8", "bool": "bool", "complex128": "complex128", "complex64": "complex64"}, "complex128": {"float64": "complex128", "float32": "complex128", "int64": "complex128", "int32": "complex128", "int16": "complex128", "int8": "complex128", "uint64": "complex128", "uint32": "complex128", "uint16": "complex128", "uint8": "complex128", "bool": "complex128", "complex128": "complex128", "complex64": "complex128"}, "complex64": {"float64": "complex128", "float32": "complex64", "int64": "complex128", "int32": "complex128", "int16": "complex64", "int8": "complex64", "uint64": "complex128", "uint32": "complex128", "uint16": "complex64", "uint8": "complex64", "bool": "complex64", "complex128": "complex128", "complex64": "complex64"}};

describe('dtype rules (numpy)', () => {
  it('promotes every pair as numpy.promote_types does', () => {
    for (const a of DTYPES) for (const b of DTYPES) expect(promoteTypes(a, b), `${a} with ${b}`).toBe(NUMPY_PROMOTE[a]![b]);
  });
  it('promotes like numpy.promote_types', () => {
    expect(promoteTypes('uint8', 'int32')).toBe('int32');
    expect(promoteTypes('uint8', 'float32')).toBe('float32');
    expect(promoteTypes('int32', 'float32')).toBe('float64');
    expect(promoteTypes('float32', 'float64')).toBe('float64');
    expect(promoteTypes('uint8', 'uint8')).toBe('uint8');
  });
  it('follows NEP 50 for plain numbers', () => {
    expect(promoteWithScalar('uint8', 3)).toBe('uint8');
    expect(promoteWithScalar('int32', 0.5)).toBe('float64');
    expect(promoteWithScalar('float32', 0.5)).toBe('float32');
    expect(promoteWithScalar('int32', Infinity)).toBe('float64');
  });
  it('gives float results for true division and transcendental functions', () => {
    expect(elementwiseResultDtype('div', ['int32', 'int32'])).toBe('float64');
    expect(elementwiseResultDtype('div', ['float32', 'float32'])).toBe('float32');
    expect(elementwiseResultDtype('sqrt', ['uint8'])).toBe('float32');
    expect(floatResultType('int32')).toBe('float64');
    expect(elementwiseResultDtype('lt', ['float64', 'int32'])).toBe('bool');
    expect(elementwiseResultDtype('square', ['bool'])).toBe('int8');
    expect(promoteWithScalar('bool', 3)).toBe('int64');
    expect(promoteWithScalar('bool', 0.5)).toBe('float64');
    expect(reductionResultDtype('sum', 'bool')).toBe('int64');
    expect(reductionResultDtype('mean', 'bool')).toBe('float64');
    expect(reductionResultDtype('max', 'bool')).toBe('bool');
    expect(elementwiseResultDtype('where', ['uint8', 'int32', 'float32'])).toBe('float64');
  });
  it('has numpy reduction result types: integer sums and products in 64 bits, indices int64', () => {
    expect(reductionResultDtype('sum', 'int32')).toBe('int64');
    expect(reductionResultDtype('sum', 'uint8')).toBe('uint64');
    expect(reductionResultDtype('prod', 'int16')).toBe('int64');
    expect(accumulatorType('float32')).toBe('float32');
    expect(reductionResultDtype('sum', 'float32')).toBe('float32');
    expect(reductionResultDtype('max', 'uint8')).toBe('uint8');
    expect(reductionResultDtype('argmax', 'float64')).toBe('int64');
    expect(reductionResultDtype('mean', 'int32')).toBe('float64');
  });
  it('casts scalars by wrapping like typed arrays', () => {
    expect(castScalar('uint8', 257)).toBe(1);
    expect(castScalar('int32', 2 ** 31)).toBe(-(2 ** 31));
    expect(castScalar('float32', 0.1)).toBe(Math.fround(0.1));
    expect(castScalar('int16', 40000)).toBe(40000 - 65536);
    expect(castScalar('uint32', -1)).toBe(4294967295);
    expect(castScalar('int64', 2 ** 63)).toBe(-(2 ** 63));
    expect(castScalar('uint64', -2)).toBe(2 ** 64 - 2);
    expect(castScalar('int64', -7.9)).toBe(-7);
  });
});
