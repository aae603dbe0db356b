// The worker's GEMM on OpenBLAS (cblas_dgemm / cblas_sgemm), built where `pkg-config openblas
// lapacke` finds Debian's libopenblas-dev and liblapacke-dev (binding.gyp); elsewhere the worker
// falls back to gemm.cc's own kernels. Same contract as gemm.cc's gemm: C[M x N] += A * B with A
// and B strided views; a view with a unit stride goes to BLAS as it is (transposed where its
// columns are strided), any other (or another element type) is first copied into a contiguous
// buffer. C is a Float64Array (dgemm, float64 accumulation), or a Float32Array with float32 A
// and B (sgemm, float32 accumulation as numpy's matmul of float32).
//
// Threads: each worker pool thread runs tasks, so OpenBLAS's own threads would only compete with
// them, except when a GEMM runs alone. The default policy ("auto") gives a call up to `cap`
// threads (the worker's pool size: the cores it was given) when no other call is in flight in the
// process, and one thread otherwise; setThreads(n, false) fixes n instead. A call that starts alone keeps its threads if another begins
// meanwhile (OpenBLAS decides a call's split at its start), so the two overlap for one call.
#include <cblas.h>
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "blas-call.h"
#include "gemm-args.h"

extern "C" {
// OpenBLAS's own API (cblas.h declares them in OpenBLAS's copy; declared here for any cblas.h).
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
}

void registerLapack(napi_env env, napi_value exports);  // lapack.cc

namespace {

using tessera::Kind;
using tessera::View;

const int maxThreads = std::max(1, openblas_get_num_threads());
std::atomic<bool> autoThreads{true};
std::atomic<int> threadCap{maxThreads};
std::atomic<int> inFlight{0};
std::mutex setting;  // the decision and openblas_set_num_threads together, so the last set wins
int threadsSet = -1;

template <typename T>
constexpr Kind kindOf() {
  return sizeof(T) == 8 ? Kind::F64 : Kind::F32;
}

/** A BLAS operand: a pointer, whether it is stored transposed, and its leading dimension. */
template <typename T>
struct Operand {
  const T *p;
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};

template <typename S, typename T>
void copyT(const S *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, T *out) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) *out++ = static_cast<T>(src[i * rs + j * cs]);
}

/** v (rows x cols) as a BLAS operand: in place where it has a unit stride and type T, else copied into buf. */
template <typename T>
Operand<T> operand(const View &v, int64_t rows, int64_t cols, std::vector<T> &buf) {
  if (v.kind == kindOf<T>()) {
    const T *p = static_cast<const T *>(v.data);
    // Row-major (unit column stride); a single row or column leaves the other stride unused.
    if ((v.cs == 1 || cols <= 1) && (rows <= 1 || v.rs >= std::max<int64_t>(1, cols)))
      return {p, CblasNoTrans, rows <= 1 ? std::max<int64_t>(1, cols) : v.rs};
    // Column-major: the row-major transpose of a cols x rows matrix.
    if ((v.rs == 1 || rows <= 1) && (cols <= 1 || v.cs >= std::max<int64_t>(1, rows)))
      return {p, CblasTrans, cols <= 1 ? std::max<int64_t>(1, rows) : v.cs};
  }
  buf.resize(static_cast<size_t>(rows * cols));
  switch (v.kind) {
    case Kind::F64: copyT(static_cast<const double *>(v.data), rows, cols, v.rs, v.cs, buf.data()); break;
    case Kind::F32: copyT(static_cast<const float *>(v.data), rows, cols, v.rs, v.cs, buf.data()); break;
    case Kind::I32: copyT(static_cast<const int32_t *>(v.data), rows, cols, v.rs, v.cs, buf.data()); break;
    case Kind::U8: copyT(static_cast<const uint8_t *>(v.data), rows, cols, v.rs, v.cs, buf.data()); break;
  }
  return {buf.data(), CblasNoTrans, std::max<int64_t>(1, cols)};
}

template <typename T>
void gemmT(const tessera::GemmArgs &g) {
  thread_local std::vector<T> bufA, bufB;
  const Operand<T> a = operand<T>(g.A, g.M, g.K, bufA), b = operand<T>(g.B, g.K, g.N, bufB);
  const int M = static_cast<int>(g.M), N = static_cast<int>(g.N), K = static_cast<int>(g.K);
  const tessera::BlasCall call;
  if constexpr (sizeof(T) == 8)
    cblas_dgemm(CblasRowMajor, a.trans, b.trans, M, N, K, 1.0, a.p, static_cast<int>(a.ld), b.p, static_cast<int>(b.ld), 1.0,
                static_cast<double *>(g.C), static_cast<int>(g.ldc));
  else
    cblas_sgemm(CblasRowMajor, a.trans, b.trans, M, N, K, 1.0f, a.p, static_cast<int>(a.ld), b.p, static_cast<int>(b.ld), 1.0f,
                static_cast<float *>(g.C), static_cast<int>(g.ldc));
}

// gemm(M, N, K, A, aOff, aRs, aCs, B, bOff, bRs, bCs, C, cOff, ldc): C += A * B (see the top).
napi_value Gemm(napi_env env, napi_callback_info info) {
  tessera::GemmArgs g;
  if (!tessera::gemmArgs(env, info, true, &g)) return nullptr;
  if (g.M == 0 || g.N == 0 || g.K == 0) return nullptr;
  // BLAS takes 32-bit sizes (Debian's OpenBLAS is not the ILP64 build).
  const int64_t big = std::max({g.M, g.N, g.K, g.ldc, g.A.rs, g.A.cs, g.B.rs, g.B.cs});
  if (big > INT_MAX) return tessera::fail(env, "gemm: a size or stride is past 2^31 - 1, the limit of a 32-bit BLAS");
  if (g.cKind == Kind::F32) {
    if (g.A.kind != Kind::F32 || g.B.kind != Kind::F32) return tessera::fail(env, "gemm: a Float32Array C takes Float32Array A and B");
    gemmT<float>(g);
  } else {
    gemmT<double>(g);
  }
  return nullptr;
}

// setThreads(n, auto): OpenBLAS threads per call: n always, or (auto) up to n when a call is alone.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t n;
  bool isAuto;
  if (argc != 2 || !tessera::int64Arg(env, argv[0], &n) || n < 1 || napi_get_value_bool(env, argv[1], &isAuto) != napi_ok)
    return tessera::fail(env, "setThreads takes a positive integer and a boolean");
  threadCap.store(static_cast<int>(std::min<int64_t>(n, maxThreads)));
  autoThreads.store(isAuto);
  return nullptr;
}

napi_value str(napi_env env, const std::string &s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

}  // namespace

tessera::BlasCall::BlasCall() {
  const int others = inFlight.fetch_add(1);
  const int want = autoThreads.load() && others > 0 ? 1 : threadCap.load();
  const std::lock_guard<std::mutex> lock(setting);
  if (threadsSet != want) openblas_set_num_threads(threadsSet = want);
}

tessera::BlasCall::~BlasCall() { inFlight.fetch_sub(1); }

NAPI_MODULE_INIT() {
  napi_value fn, n;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, Gemm, nullptr, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, SetThreads, nullptr, &fn);
  napi_set_named_property(env, exports, "setThreads", fn);
  napi_create_int32(env, maxThreads, &n);
  napi_set_named_property(env, exports, "maxThreads", n);
  const char *config = openblas_get_config(), *core = openblas_get_corename();
  napi_set_named_property(env, exports, "config", str(env, config ? config : "OpenBLAS"));
  napi_set_named_property(env, exports, "core", str(env, core ? core : "unknown"));
  registerLapack(env, exports);
  return exports;
}
