// What the two GEMM addons (gemm.cc, our own; blas.cc, OpenBLAS) share: typed-array views and the
// checked arguments of gemm(M, N, K, A, aOff, aRs, aCs, B, bOff, bRs, bCs, C, cOff, ldc), which
// adds A[M x K] * B[K x N] into C (row stride ldc). Every view is checked to stay inside its array.
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace tessera {

enum class Kind { F64, F32, I32, U8 };

/** A strided matrix view: element (i, j) is data[i*rs + j*cs] in the array's own element type. */
struct View {
  const void *data;
  Kind kind;
  int64_t rs, cs;
};

inline napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, "INVALID_ARGUMENT", message);
  return nullptr;
}

inline bool int64Arg(napi_env env, napi_value v, int64_t *out) { return napi_get_value_int64(env, v, out) == napi_ok; }

/** A typed array argument: its element kind, first element and length. */
inline bool arrayArg(napi_env env, napi_value v, Kind *kind, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) != napi_ok) return false;
  switch (type) {
    case napi_float64_array: *kind = Kind::F64; return true;
    case napi_float32_array: *kind = Kind::F32; return true;
    case napi_int32_array: *kind = Kind::I32; return true;
    case napi_uint8_array: *kind = Kind::U8; return true;
    default: return false;
  }
}

/** The largest index a rows x cols view with these strides touches stays inside the array. */
inline bool fits(int64_t off, int64_t rows, int64_t cols, int64_t rs, int64_t cs, size_t length) {
  if (off < 0 || rs < 0 || cs < 0) return false;
  if (rows == 0 || cols == 0) return true;
  return off + (rows - 1) * rs + (cols - 1) * cs < static_cast<int64_t>(length);
}

inline const void *elementAt(const void *p, Kind k, int64_t off) {
  switch (k) {
    case Kind::F64: return static_cast<const double *>(p) + off;
    case Kind::F32: return static_cast<const float *>(p) + off;
    case Kind::I32: return static_cast<const int32_t *>(p) + off;
    case Kind::U8: return static_cast<const uint8_t *>(p) + off;
  }
  return p;
}

struct GemmArgs {
  int64_t M, N, K, ldc;
  View A, B;
  void *C; // at cOff already
  Kind cKind;
};

/**
 * Parses and checks gemm's 14 arguments; false after throwing a TypeError. C must be a
 * Float64Array, or a Float32Array where `float32C` (the BLAS addon's sgemm).
 */
inline bool gemmArgs(napi_env env, napi_callback_info info, bool float32C, GemmArgs *g) {
  size_t argc = 14;
  napi_value argv[14];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 14) return fail(env, "gemm takes 14 arguments"), false;
  int64_t aOff, aRs, aCs, bOff, bRs, bCs, cOff;
  int64_t *dims[] = {&g->M, &g->N, &g->K};
  for (int i = 0; i < 3; i++)
    if (!int64Arg(env, argv[i], dims[i]) || *dims[i] < 0) return fail(env, "gemm: M, N and K must be non-negative integers"), false;
  if (!int64Arg(env, argv[4], &aOff) || !int64Arg(env, argv[5], &aRs) || !int64Arg(env, argv[6], &aCs) ||
      !int64Arg(env, argv[8], &bOff) || !int64Arg(env, argv[9], &bRs) || !int64Arg(env, argv[10], &bCs) ||
      !int64Arg(env, argv[12], &cOff) || !int64Arg(env, argv[13], &g->ldc))
    return fail(env, "gemm: offsets and strides must be integers"), false;
  Kind ka, kb;
  void *a, *b;
  size_t na, nb, nc;
  if (!arrayArg(env, argv[3], &ka, &a, &na) || !arrayArg(env, argv[7], &kb, &b, &nb))
    return fail(env, "gemm: A and B must be Float64Array, Float32Array, Int32Array or Uint8Array"), false;
  if (!arrayArg(env, argv[11], &g->cKind, &g->C, &nc) || !(g->cKind == Kind::F64 || (float32C && g->cKind == Kind::F32)))
    return fail(env, float32C ? "gemm: C must be a Float64Array or a Float32Array" : "gemm: C must be a Float64Array"), false;
  if (!fits(aOff, g->M, g->K, aRs, aCs, na)) return fail(env, "gemm: A's view reaches past its array"), false;
  if (!fits(bOff, g->K, g->N, bRs, bCs, nb)) return fail(env, "gemm: B's view reaches past its array"), false;
  if (g->ldc < g->N || !fits(cOff, g->M, g->N, g->ldc, 1, nc)) return fail(env, "gemm: C's view reaches past its array"), false;
  g->A = View{elementAt(a, ka, aOff), ka, aRs, aCs};
  g->B = View{elementAt(b, kb, bOff), kb, bRs, bCs};
  g->C = const_cast<void *>(elementAt(g->C, g->cKind, cOff));
  return true;
}

}  // namespace tessera
