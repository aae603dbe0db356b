// 1-d FFTs on FFTW 3 (fftw_* for Float64Array, fftwf_* for Float32Array), built where
// `pkg-config fftw3 fftw3f` finds Debian's libfftw3-dev (binding.gyp); elsewhere the worker runs
// src/kernels/fft-core.ts. Same contract as fft-core.ts: complex data interleaved (re, im), the
// transformed axis the middle one of a C-order [outer, n, inner], unnormalised both ways.
//
//   fftAxis(data, outer, n, inner, inverse)     complex [outer, n, inner], in place
//   rfftAxis(input, output, outer, n, inner)    real [outer, n, inner] -> complex [outer, n/2+1, inner]
//   irfftAxis(input, output, outer, n, inner)   complex [outer, n/2+1, inner] -> real; input kept
//   version: string                             fftw_version
//
// A call with inner < 16 is one guru64 plan over the caller's own memory (no copies): rank 1 of
// length n and stride inner, vector loops over outer and inner. Wider lanes are copied, 4 to 16 at
// a time (16 up to n = 2048, 8 at 4096; a cache line or more of each row), into a scratch
// [n][lanes] and transformed there: FFTW_ESTIMATE's plan for long strided columns is 3-6x slower
// than that (4096 x 4096 complex128 along axis 0, 2 cores: 0.86 s in place, 0.15-0.26 s blocked;
// FFTW_MEASURE finds 0.13 s in place but plans for 6.6 s, not worth it for one chunk).
// Plans are FFTW_ESTIMATE (planning touches no data, so it runs on the caller's arrays) and are
// cached by shape and alignment, since a chunked FFT asks for one shape many times; a cached plan
// runs on new arrays through fftw_execute_dft & co.
// FFTW's planner is not thread-safe and every worker thread of a process loads this one library,
// so planning and destroying take one process-wide mutex; executing a plan needs none. FFTW runs
// one thread per call: the worker pool is the parallelism.
#include <fftw3.h>
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "gemm-args.h"

namespace {

using tessera::fail;
using tessera::Kind;

enum class Op { Forward, Inverse, R2C, C2R };

// fftw_iodim64 and fftwf_iodim64 are one struct.
using Dim = fftw_iodim64;

/** FFTW's double and float APIs behind one name. */
template <typename T>
struct Fftw;

template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  static Plan plan(Op op, const Dim *d, const Dim *loops, double *in, double *out, unsigned flags) {
    auto *ci = reinterpret_cast<fftw_complex *>(in), *co = reinterpret_cast<fftw_complex *>(out);
    switch (op) {
      case Op::Forward: return fftw_plan_guru64_dft(1, d, 2, loops, ci, co, FFTW_FORWARD, flags);
      case Op::Inverse: return fftw_plan_guru64_dft(1, d, 2, loops, ci, co, FFTW_BACKWARD, flags);
      case Op::R2C: return fftw_plan_guru64_dft_r2c(1, d, 2, loops, in, co, flags);
      case Op::C2R: return fftw_plan_guru64_dft_c2r(1, d, 2, loops, ci, out, flags);
    }
    return nullptr;
  }
  static void run(Op op, Plan p, double *in, double *out) {
    auto *ci = reinterpret_cast<fftw_complex *>(in), *co = reinterpret_cast<fftw_complex *>(out);
    if (op == Op::R2C) fftw_execute_dft_r2c(p, in, co);
    else if (op == Op::C2R) fftw_execute_dft_c2r(p, ci, out);
    else fftw_execute_dft(p, ci, co);
  }
  static void destroy(Plan p) { fftw_destroy_plan(p); }
  static int alignment(double *p) { return fftw_alignment_of(p); }
};

template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  static Plan plan(Op op, const Dim *d, const Dim *loops, float *in, float *out, unsigned flags) {
    auto *ci = reinterpret_cast<fftwf_complex *>(in), *co = reinterpret_cast<fftwf_complex *>(out);
    switch (op) {
      case Op::Forward: return fftwf_plan_guru64_dft(1, d, 2, loops, ci, co, FFTW_FORWARD, flags);
      case Op::Inverse: return fftwf_plan_guru64_dft(1, d, 2, loops, ci, co, FFTW_BACKWARD, flags);
      case Op::R2C: return fftwf_plan_guru64_dft_r2c(1, d, 2, loops, in, co, flags);
      case Op::C2R: return fftwf_plan_guru64_dft_c2r(1, d, 2, loops, ci, out, flags);
    }
    return nullptr;
  }
  static void run(Op op, Plan p, float *in, float *out) {
    auto *ci = reinterpret_cast<fftwf_complex *>(in), *co = reinterpret_cast<fftwf_complex *>(out);
    if (op == Op::R2C) fftwf_execute_dft_r2c(p, in, co);
    else if (op == Op::C2R) fftwf_execute_dft_c2r(p, ci, out);
    else fftwf_execute_dft(p, ci, co);
  }
  static void destroy(Plan p) { fftwf_destroy_plan(p); }
  static int alignment(float *p) { return fftwf_alignment_of(p); }
};

std::mutex planner;  // FFTW's planner and fftw_destroy_plan, for every thread of the process

struct PlanBase {
  virtual ~PlanBase() = default;
};

template <typename T>
struct PlanOf : PlanBase {
  typename Fftw<T>::Plan plan;
  explicit PlanOf(typename Fftw<T>::Plan p) : plan(p) {}
  // The last holder may be any thread, after the cache let the plan go.
  ~PlanOf() override {
    const std::lock_guard<std::mutex> lock(planner);
    Fftw<T>::destroy(plan);
  }
};

// A new-array execute needs the plan's shape, in-place-ness (fixed by the op) and alignment.
// keep: c2r must leave its input as it was (the caller's array; scratch need not be kept).
using Key = std::tuple<Op, bool, int64_t, int64_t, int64_t, int, int, bool>;
struct Entry {
  std::shared_ptr<PlanBase> plan;
  uint64_t used;
};
constexpr size_t maxPlans = 64;
// Never destroyed: at exit another thread may still be running a plan.
auto *const plans = new std::map<Key, Entry>();
uint64_t useClock = 0;

/** The cached plan for this call, made (FFTW_ESTIMATE) on its arrays where there is none; null where FFTW has none. */
template <typename T>
std::shared_ptr<PlanOf<T>> planFor(Op op, int64_t outer, int64_t n, int64_t inner, T *in, T *out, bool keep) {
  keep = keep && op == Op::C2R;
  const Key key{op, sizeof(T) == 4, outer, n, inner, Fftw<T>::alignment(in), Fftw<T>::alignment(out), keep};
  std::shared_ptr<PlanBase> evicted;  // let go after the lock (its destructor takes it)
  const std::lock_guard<std::mutex> lock(planner);
  auto it = plans->find(key);
  if (it != plans->end()) {
    it->second.used = ++useClock;
    return std::static_pointer_cast<PlanOf<T>>(it->second.plan);
  }
  // Strides in elements of each side: complex for the complex side, real for the real one.
  const int64_t bins = n / 2 + 1, inLen = op == Op::C2R ? bins : n, outLen = op == Op::R2C ? bins : n;
  const Dim d{n, inner, inner};
  const Dim loops[2] = {{outer, inLen * inner, outLen * inner}, {inner, 1, 1}};
  // c2r overwrites its input by default; rank 1 can keep it.
  const unsigned flags = FFTW_ESTIMATE | (keep ? FFTW_PRESERVE_INPUT : 0);
  auto p = Fftw<T>::plan(op, &d, loops, in, out, flags);
  if (!p) return nullptr;
  auto made = std::make_shared<PlanOf<T>>(p);
  if (plans->size() >= maxPlans) {
    auto oldest = plans->begin();
    for (auto i = plans->begin(); i != plans->end(); ++i)
      if (i->second.used < oldest->second.used) oldest = i;
    evicted = std::move(oldest->second.plan);
    plans->erase(oldest);
  }
  plans->emplace(key, Entry{made, ++useClock});
  return made;
}

/** A call's arguments: arrays (all Float64Array or all Float32Array) and shape, checked against each other. */
struct Call {
  void *in = nullptr, *out = nullptr;
  size_t inLen = 0, outLen = 0;
  Kind kind = Kind::F64;
  int64_t outer = 0, n = 0, inner = 0;
};

bool floats(napi_env env, napi_value v, Kind *kind, void **data, size_t *len) {
  return tessera::arrayArg(env, v, kind, data, len) && (*kind == Kind::F64 || *kind == Kind::F32);
}

/** Parses (data, outer, n, inner, inverse) or (input, output, outer, n, inner); false after throwing. */
bool parse(napi_env env, napi_callback_info info, Op op, Call *c, bool *inverse) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 5) return fail(env, "fftw: takes 5 arguments"), false;
  const bool inPlace = op == Op::Forward;
  if (!floats(env, argv[0], &c->kind, &c->in, &c->inLen)) return fail(env, "fftw: takes Float64Array or Float32Array data"), false;
  if (inPlace) {
    c->out = c->in;
    c->outLen = c->inLen;
    if (napi_get_value_bool(env, argv[4], inverse) != napi_ok) return fail(env, "fftw: inverse must be a boolean"), false;
  } else {
    Kind k;
    if (!floats(env, argv[1], &k, &c->out, &c->outLen) || k != c->kind) return fail(env, "fftw: input and output must be both Float64Array or both Float32Array"), false;
  }
  const size_t first = inPlace ? 1 : 2;
  int64_t *dims[] = {&c->outer, &c->n, &c->inner};
  for (size_t i = 0; i < 3; i++)
    if (!tessera::int64Arg(env, argv[first + i], dims[i]) || *dims[i] < 0) return fail(env, "fftw: outer, n and inner must be non-negative integers"), false;
  if (c->n < 1) return fail(env, "fftw: n must be at least 1"), false;
  // Values each side needs, in 128 bits so no product wraps.
  using Wide = unsigned __int128;
  const Wide lanes = static_cast<Wide>(c->outer) * static_cast<Wide>(c->inner), bins = c->n / 2 + 1;
  const Wide real = lanes * c->n, complexFull = 2 * real, complexHalf = 2 * lanes * bins;
  const Wide needIn = op == Op::R2C ? real : op == Op::C2R ? complexHalf : complexFull;
  const Wide needOut = op == Op::R2C ? complexHalf : op == Op::C2R ? real : complexFull;
  if (c->inLen < needIn || c->outLen < needOut) return fail(env, "fftw: an array is shorter than outer, n and inner say"), false;
  if (!inPlace) {
    const size_t size = c->kind == Kind::F64 ? 8 : 4;
    const auto *a = static_cast<const char *>(c->in), *b = static_cast<const char *>(c->out);
    if (a < b + c->outLen * size && b < a + c->inLen * size) return fail(env, "fftw: input and output must not overlap"), false;
  }
  return true;
}

constexpr int64_t blockFrom = 16;  // inner from which lanes go through scratch

struct FftwFree {
  void operator()(void *p) const { fftw_free(p); }
};

/** A thread's two scratch buffers, SIMD-aligned by fftw_malloc; kept between calls up to 1 MiB each. */
class Scratch {
 public:
  void *get(int slot, size_t bytes) {
    if (sizes_[slot] < bytes) {
      buffers_[slot].reset(fftw_malloc(bytes));
      sizes_[slot] = buffers_[slot] ? bytes : 0;
    }
    return buffers_[slot].get();
  }
  /** Frees what is past `keep` bytes (a worker thread lives long; one huge lane should not stay). */
  void trim(size_t keep) {
    for (int i = 0; i < 2; i++)
      if (sizes_[i] > keep) buffers_[i].reset(), sizes_[i] = 0;
  }

 private:
  std::unique_ptr<void, FftwFree> buffers_[2];
  size_t sizes_[2] = {0, 0};
};
thread_local Scratch scratch;

/** Lanes inner, b at a time, through scratch [rows][b]: rows n or n/2+1 each side, 1 (real) or 2 (complex) values an element. */
template <typename T>
bool blocked(Op op, const Call &c) {
  const int64_t n = c.n, inner = c.inner, bins = n / 2 + 1;
  const int64_t B = std::min(inner, std::clamp<int64_t>(32768 / n, 4, 16));
  const int64_t inRows = op == Op::C2R ? bins : n, outRows = op == Op::R2C ? bins : n;
  const int64_t inW = op == Op::R2C ? 1 : 2, outW = op == Op::C2R ? 1 : 2;
  const bool inPlace = op == Op::Forward || op == Op::Inverse;
  T *si = static_cast<T *>(scratch.get(0, sizeof(T) * inRows * inW * B));
  T *so = inPlace ? si : static_cast<T *>(scratch.get(1, sizeof(T) * outRows * outW * B));
  if (!si || !so) return false;
  const T *in = static_cast<const T *>(c.in);
  T *out = static_cast<T *>(c.out);
  std::shared_ptr<PlanOf<T>> plans[2];  // b = B, and the last block's b where inner % B != 0
  for (int64_t o = 0; o < c.outer; o++)
    for (int64_t c0 = 0; c0 < inner; c0 += B) {
      const int64_t b = std::min(B, inner - c0);
      auto &plan = plans[b == B ? 0 : 1];
      if (!plan && !(plan = planFor<T>(op, 1, n, b, si, so, false))) return false;
      for (int64_t k = 0; k < inRows; k++) std::memcpy(si + k * b * inW, in + ((o * inRows + k) * inner + c0) * inW, sizeof(T) * b * inW);
      Fftw<T>::run(op, plan->plan, si, so);
      for (int64_t k = 0; k < outRows; k++) std::memcpy(out + ((o * outRows + k) * inner + c0) * outW, so + k * b * outW, sizeof(T) * b * outW);
    }
  scratch.trim(1 << 20);
  return true;
}

template <typename T>
bool run(Op op, const Call &c) {
  if (c.inner >= blockFrom) return blocked<T>(op, c);
  T *in = static_cast<T *>(c.in), *out = static_cast<T *>(c.out);
  auto plan = planFor<T>(op, c.outer, c.n, c.inner, in, out, true);
  if (!plan) return false;
  Fftw<T>::run(op, plan->plan, in, out);
  return true;
}

napi_value transform(napi_env env, napi_callback_info info, Op op) {
  Call c;
  bool inverse = false;
  if (!parse(env, info, op, &c, &inverse)) return nullptr;
  if (op == Op::Forward && inverse) op = Op::Inverse;
  if (c.outer == 0 || c.inner == 0) return nullptr;
  const bool ok = c.kind == Kind::F64 ? run<double>(op, c) : run<float>(op, c);
  if (!ok) napi_throw_error(env, "FFTW", "fftw: FFTW made no plan for this transform");
  return nullptr;
}

napi_value FftAxis(napi_env env, napi_callback_info info) { return transform(env, info, Op::Forward); }
napi_value RfftAxis(napi_env env, napi_callback_info info) { return transform(env, info, Op::R2C); }
napi_value IrfftAxis(napi_env env, napi_callback_info info) { return transform(env, info, Op::C2R); }

}  // namespace

NAPI_MODULE_INIT() {
  const std::pair<const char *, napi_callback> fns[] = {{"fftAxis", FftAxis}, {"rfftAxis", RfftAxis}, {"irfftAxis", IrfftAxis}};
  for (const auto &[name, cb] : fns) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  napi_value v;
  napi_create_string_utf8(env, fftw_version, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "version", v);
  return exports;
}
