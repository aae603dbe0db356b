import { describe, expect, it } from 'vitest';
import { castScalar, floatResultType, promoteTypes, promoteWithScalar } from './dtype.js';
import { elementwiseResultDtype } from './ops/elementwise.js';
import { reductionResultDtype } from './ops/reduction.js';

describe('dtype rules (numpy, restricted to float64/float32/int32/uint8)', () => {
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
    expect(elementwiseResultDtype('lt', ['float64', 'int32'])).toBe('uint8');
    expect(elementwiseResultDtype('where', ['uint8', 'int32', 'float32'])).toBe('float64');
  });
  it('has reduction result types with no int64 available', () => {
    expect(reductionResultDtype('sum', 'int32')).toBe('float64');
    expect(reductionResultDtype('sum', 'float32')).toBe('float32');
    expect(reductionResultDtype('max', 'uint8')).toBe('uint8');
    expect(reductionResultDtype('argmax', 'float64')).toBe('int32');
    expect(reductionResultDtype('mean', 'int32')).toBe('float64');
  });
  it('casts scalars by wrapping like typed arrays', () => {
    expect(castScalar('uint8', 257)).toBe(1);
    expect(castScalar('int32', 2 ** 31)).toBe(-(2 ** 31));
    expect(castScalar('float32', 0.1)).toBe(Math.fround(0.1));
  });
});
