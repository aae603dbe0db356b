/**
 * numpy.linalg (and dask.array.linalg) as `ta.linalg.*`: chunked QR, SVD, randomised SVD,
 * Cholesky, triangular and general solves, inverse, LU, determinants, least squares and norms,
 * with the products of linalg.ts.
 */
export { qr, svd, svdCompressed, type SvdOptions, type SvdCompressedOptions } from './linalg-qr.js';
export {
  cholesky,
  solveTriangular,
  solve,
  inv,
  lu,
  det,
  slogdet,
  lstsq,
  type CholeskyOptions,
  type SolveTriangularOptions,
  type SolveOptions,
  type LstsqOptions,
} from './linalg-solve.js';
export { norm, type NormOptions, type NormOrder } from './linalg-norm.js';
export { matmul, tensordot } from './linalg.js';
export { outer, diagonal, trace } from './linalg-more.js';
