// C[M x N] (float64, row stride ldc) += A[M x K] * B[K x N], where A and B are strided views of
// float64, float32, int32 or uint8 typed arrays. BLIS-shaped: B is packed in KC x NC blocks of
// NR-column panels, A in MC x KC blocks of MR-row panels, and a register-tiled micro-kernel
// (AVX-512 or AVX2+FMA when the CPU has them, chosen at load time; plain C++ otherwise) adds
// each MR x NR tile into C. Accumulation is float64 whatever the inputs.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <immintrin.h>
#include <string_view>
#include <sys/mman.h>

#include "gemm-args.h"
#include "affinity.h"
#include "sort.h"

namespace {

using tessera::Kind;
using tessera::View;

constexpr int64_t KC = 256;
constexpr int64_t MC = 144;  // a multiple of every MR below
constexpr int64_t NC = 2048; // a multiple of every NR below

using Kernel = void (*)(int64_t kc, const double *a, const double *b, double *c, int64_t ldc, int64_t mr, int64_t nr);

struct Isa {
  const char *name;
  int64_t mr, nr;
  Kernel kernel;
};

/** Lines [base + i*ls] of kc elements [+ k*es] into panels of P lines, k-major: out[(p*kc + k)*P + l]. */
template <typename T>
void packT(const T *src, int64_t ls, int64_t es, int64_t len, int64_t kc, int64_t P, double *out) {
  for (int64_t p0 = 0; p0 < len; p0 += P) {
    const int64_t n = std::min(P, len - p0);
    for (int64_t k = 0; k < kc; k++, out += P) {
      const T *s = src + p0 * ls + k * es;
      int64_t l = 0;
      for (; l < n; l++) out[l] = static_cast<double>(s[l * ls]);
      // Missing lines feed tile entries never written back; zero, so no NaN or subnormal slows them.
      for (; l < P; l++) out[l] = 0.0;
    }
  }
}

void pack(const View &v, int64_t line0, int64_t elem0, int64_t ls, int64_t es, int64_t len, int64_t kc, int64_t P, double *out) {
  const int64_t base = line0 * ls + elem0 * es;
  switch (v.kind) {
    case Kind::F64: return packT(static_cast<const double *>(v.data) + base, ls, es, len, kc, P, out);
    case Kind::F32: return packT(static_cast<const float *>(v.data) + base, ls, es, len, kc, P, out);
    case Kind::I32: return packT(static_cast<const int32_t *>(v.data) + base, ls, es, len, kc, P, out);
    case Kind::U8: return packT(static_cast<const uint8_t *>(v.data) + base, ls, es, len, kc, P, out);
  }
}

/** The part of a full tile that lies inside C. */
inline void addTile(const double *t, int64_t tn, double *c, int64_t ldc, int64_t mr, int64_t nr) {
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) c[i * ldc + j] += t[i * tn + j];
}

__attribute__((target("avx512f"))) void kernel512(int64_t kc, const double *a, const double *b, double *c, int64_t ldc, int64_t mr, int64_t nr) {
  // 6 x 16: 12 accumulators, 2 loads of B and 6 broadcasts of A per 12 FMAs.
  __m512d acc[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm512_setzero_pd();
  for (int64_t k = 0; k < kc; k++, a += 6, b += 16) {
    const __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m512d ai = _mm512_set1_pd(a[i]);
      acc[i][0] = _mm512_fmadd_pd(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_pd(ai, b1, acc[i][1]);
    }
  }
  if (mr == 6 && nr == 16) {
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      double *ci = c + i * ldc;
      _mm512_storeu_pd(ci, _mm512_add_pd(_mm512_loadu_pd(ci), acc[i][0]));
      _mm512_storeu_pd(ci + 8, _mm512_add_pd(_mm512_loadu_pd(ci + 8), acc[i][1]));
    }
    return;
  }
  alignas(64) double t[6 * 16];
  for (int i = 0; i < 6; i++) {
    _mm512_store_pd(t + i * 16, acc[i][0]);
    _mm512_store_pd(t + i * 16 + 8, acc[i][1]);
  }
  addTile(t, 16, c, ldc, mr, nr);
}

__attribute__((target("avx2,fma"))) void kernel256(int64_t kc, const double *a, const double *b, double *c, int64_t ldc, int64_t mr, int64_t nr) {
  // 6 x 8: 12 accumulators, as above with 4-lane vectors.
  __m256d acc[6][2];
#pragma GCC unroll 6
  for (int i = 0; i < 6; i++) acc[i][0] = acc[i][1] = _mm256_setzero_pd();
  for (int64_t k = 0; k < kc; k++, a += 6, b += 8) {
    const __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      const __m256d ai = _mm256_broadcast_sd(a + i);
      acc[i][0] = _mm256_fmadd_pd(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_pd(ai, b1, acc[i][1]);
    }
  }
  if (mr == 6 && nr == 8) {
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
      double *ci = c + i * ldc;
      _mm256_storeu_pd(ci, _mm256_add_pd(_mm256_loadu_pd(ci), acc[i][0]));
      _mm256_storeu_pd(ci + 4, _mm256_add_pd(_mm256_loadu_pd(ci + 4), acc[i][1]));
    }
    return;
  }
  alignas(32) double t[6 * 8];
  for (int i = 0; i < 6; i++) {
    _mm256_store_pd(t + i * 8, acc[i][0]);
    _mm256_store_pd(t + i * 8 + 4, acc[i][1]);
  }
  addTile(t, 8, c, ldc, mr, nr);
}

void kernelPlain(int64_t kc, const double *a, const double *b, double *c, int64_t ldc, int64_t mr, int64_t nr) {
  double t[4 * 4] = {};
  for (int64_t k = 0; k < kc; k++, a += 4, b += 4)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) t[i * 4 + j] += a[i] * b[j];
  addTile(t, 4, c, ldc, mr, nr);
}

Isa chooseIsa() {
  __builtin_cpu_init();
  const char *force = std::getenv("TESSERA_GEMM_ISA");
  const bool any = force == nullptr || force[0] == '\0';
  auto wanted = [&](const char *name) { return any || std::string_view(force) == name; };
  if (wanted("avx512") && __builtin_cpu_supports("avx512f")) return {"avx512", 6, 16, kernel512};
  if (wanted("avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2", 6, 8, kernel256};
  return {"plain", 4, 4, kernelPlain};
}

const Isa isa = chooseIsa();

/** Per thread (each pool thread runs its own kernels): the packed blocks, 64-byte aligned. */
struct Scratch {
  double *a = static_cast<double *>(std::aligned_alloc(64, MC * KC * sizeof(double)));
  double *b = static_cast<double *>(std::aligned_alloc(64, KC * NC * sizeof(double)));
  ~Scratch() {
    std::free(a);
    std::free(b);
  }
};

void gemm(int64_t M, int64_t N, int64_t K, const View &A, const View &B, double *C, int64_t ldc) {
  thread_local Scratch s;
  const int64_t MR = isa.mr, NR = isa.nr;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      // B's columns are the lines of its panels; A's rows are the lines of its.
      pack(B, jc, pc, B.cs, B.rs, nc, kc, NR, s.b);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack(A, ic, pc, A.rs, A.cs, mc, kc, MR, s.a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const double *pb = s.b + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR)
            isa.kernel(kc, s.a + ir * kc, pb, C + (ic + ir) * ldc + jc + jr, ldc, std::min(MR, mc - ir), std::min(NR, nc - jr));
        }
      }
    }
  }
}

// ---- Node-API ---------------------------------------------------------------------------------

// gemm(M, N, K, A, aOff, aRs, aCs, B, bOff, bRs, bCs, C, cOff, ldc): C += A * B (see the top).
napi_value Gemm(napi_env env, napi_callback_info info) {
  tessera::GemmArgs g;
  if (!tessera::gemmArgs(env, info, false, &g)) return nullptr;
  if (g.M == 0 || g.N == 0 || g.K == 0) return nullptr;
  gemm(g.M, g.N, g.K, g.A, g.B, static_cast<double *>(g.C), g.ldc);
  return nullptr;
}

// adviseHugePages(view): asks for transparent huge pages under a large buffer not yet touched
// (madvise MADV_HUGEPAGE on its 2 MiB-aligned interior), as numpy does for its arrays, so its
// first touch faults 2 MiB at a time instead of 4 KiB. False where the kernel refuses (THP off).
napi_value AdviseHugePages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_typedarray_type type;
  napi_value buffer;
  size_t length, offset;
  void *data;
  if (argc != 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array)
    return tessera::fail(env, "adviseHugePages takes a Uint8Array");
  constexpr uintptr_t HUGE = uintptr_t{2} << 20;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(data) + HUGE - 1) & ~(HUGE - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(data) + length) & ~(HUGE - 1);
  const bool ok = hi > lo && madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE) == 0;
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn, name;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, Gemm, nullptr, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, AdviseHugePages, nullptr, &fn);
  napi_set_named_property(env, exports, "adviseHugePages", fn);
  napi_create_function(env, "sortLanes", NAPI_AUTO_LENGTH, tessera::SortLanes, nullptr, &fn);
  napi_set_named_property(env, exports, "sortLanes", fn);
  napi_create_function(env, "getAffinity", NAPI_AUTO_LENGTH, tessera::GetAffinity, nullptr, &fn);
  napi_set_named_property(env, exports, "getAffinity", fn);
  napi_create_function(env, "setAffinity", NAPI_AUTO_LENGTH, tessera::SetAffinity, nullptr, &fn);
  napi_set_named_property(env, exports, "setAffinity", fn);
  napi_create_string_utf8(env, isa.name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, exports, "isa", name);
  return exports;
}
