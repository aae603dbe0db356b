// LAPACK (LAPACKE, row-major) and BLAS triangular solves for the dense kernels of linear algebra:
// the small per-block factorisations that chunked QR, SVD, LU, Cholesky and solves are built of.
// Every matrix is a contiguous row-major Float64Array (the d routines) or Float32Array (the s
// routines), overwritten in place as LAPACK does; all of one call's arrays share one type.
// Each function returns LAPACK's info (0: done; > 0: the routine's own meaning, e.g. a singular
// pivot or a matrix that is not positive definite) and throws a TypeError on bad arguments.
#include <cblas.h>
#include <lapacke.h>
#include <node_api.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>

#include "blas-call.h"
#include "gemm-args.h"

namespace {

using tessera::fail;
using tessera::Kind;

/** A call's arguments, read in order; the first failure throws and makes every later read fail. */
class Args {
 public:
  Args(napi_env env, napi_callback_info info, const char *name, size_t count) : env_(env), name_(name) {
    argc_ = 10;
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
    if (argc_ != count) error("has the wrong number of arguments");
  }
  bool ok() const { return ok_; }

  int dim(size_t i) {
    int64_t v = 0;
    if (ok_ && (!tessera::int64Arg(env_, argv_[i], &v) || v < 0 || v > INT_MAX)) error("takes sizes that are integers in [0, 2^31)");
    return static_cast<int>(v);
  }
  bool flag(size_t i) {
    bool v = false;
    if (ok_ && napi_get_value_bool(env_, argv_[i], &v) != napi_ok) error("takes booleans for its flags");
    return v;
  }
  double number(size_t i) {
    double v = 0;
    if (ok_ && napi_get_value_double(env_, argv_[i], &v) != napi_ok) error("takes a number for alpha");
    return v;
  }
  /** A Float64Array or Float32Array of at least n elements, of the same type as the call's first. */
  void *floats(size_t i, int64_t n) {
    Kind k;
    void *p = nullptr;
    size_t len = 0;
    if (!ok_) return nullptr;
    if (!tessera::arrayArg(env_, argv_[i], &k, &p, &len) || (k != Kind::F64 && k != Kind::F32)) return error("takes Float64Array or Float32Array matrices"), nullptr;
    if (kind_ && *kind_ != k) return error("takes arrays of one type"), nullptr;
    kind_ = k;
    if (static_cast<int64_t>(len) < n) return error("was given an array shorter than its sizes say"), nullptr;
    return p;
  }
  /** An Int32Array of at least n elements (pivot indices). */
  int *ints(size_t i, int64_t n) {
    napi_typedarray_type type;
    napi_value buffer;
    size_t len = 0, offset;
    void *p = nullptr;
    if (!ok_) return nullptr;
    if (napi_get_typedarray_info(env_, argv_[i], &type, &len, &p, &buffer, &offset) != napi_ok || type != napi_int32_array)
      return error("takes an Int32Array for the pivots"), nullptr;
    if (static_cast<int64_t>(len) < n) return error("was given a pivot array shorter than its sizes say"), nullptr;
    return static_cast<int *>(p);
  }
  bool f64() const { return kind_ == Kind::F64; }
  napi_value result(int info) const {
    napi_value v;
    napi_create_int32(env_, info, &v);
    return v;
  }

 private:
  void error(const char *what) {
    if (!ok_) return;
    ok_ = false;
    std::string m = std::string(name_) + " " + what;
    fail(env_, m.c_str());
  }
  napi_env env_;
  const char *name_;
  size_t argc_;
  napi_value argv_[10];
  bool ok_ = true;
  std::optional<Kind> kind_;
};

#define D(p) static_cast<double *>(p)
#define S(p) static_cast<float *>(p)

// geqrf(m, n, A, tau): A = QR; R in A's upper triangle, the reflectors below it, tau[min(m, n)].
napi_value Geqrf(napi_env env, napi_callback_info info) {
  Args a(env, info, "geqrf", 4);
  const int m = a.dim(0), n = a.dim(1);
  void *A = a.floats(2, int64_t{m} * n), *tau = a.floats(3, std::min(m, n));
  if (!a.ok()) return nullptr;
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, D(A), std::max(1, n), D(tau))
                          : LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, S(A), std::max(1, n), S(tau)));
}

// orgqr(m, n, k, A, tau): overwrites A (m x n, m >= n >= k) with Q's first n columns from geqrf's output.
napi_value Orgqr(napi_env env, napi_callback_info info) {
  Args a(env, info, "orgqr", 5);
  const int m = a.dim(0), n = a.dim(1), k = a.dim(2);
  void *A = a.floats(3, int64_t{m} * n), *tau = a.floats(4, k);
  if (!a.ok()) return nullptr;
  if (m < n || n < k) return fail(env, "orgqr needs m >= n >= k");
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, n, k, D(A), std::max(1, n), D(tau))
                          : LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, n, k, S(A), std::max(1, n), S(tau)));
}

// gesdd(m, n, A, S, U, VT, vectors): A = U diag(S) VT, the thin SVD (U m x r, VT r x n, r = min(m, n));
// without vectors only S. A is destroyed.
napi_value Gesdd(napi_env env, napi_callback_info info) {
  Args a(env, info, "gesdd", 7);
  const int m = a.dim(0), n = a.dim(1), r = std::min(m, n);
  const bool vectors = a.flag(6);
  void *A = a.floats(2, int64_t{m} * n), *s = a.floats(3, r);
  void *U = a.floats(4, vectors ? int64_t{m} * r : 0), *VT = a.floats(5, vectors ? int64_t{r} * n : 0);
  if (!a.ok()) return nullptr;
  const char job = vectors ? 'S' : 'N';
  // LAPACKE checks ldvt >= n for a row-major call even when VT is not computed.
  const int ldu = std::max(1, vectors ? r : 1), ldvt = std::max(1, n);
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dgesdd(LAPACK_ROW_MAJOR, job, m, n, D(A), std::max(1, n), D(s), D(U), ldu, D(VT), ldvt)
                          : LAPACKE_sgesdd(LAPACK_ROW_MAJOR, job, m, n, S(A), std::max(1, n), S(s), S(U), ldu, S(VT), ldvt));
}

// getrf(m, n, A, ipiv): PA = LU with partial pivoting; L (unit diagonal) and U in A, ipiv 1-based rows.
napi_value Getrf(napi_env env, napi_callback_info info) {
  Args a(env, info, "getrf", 4);
  const int m = a.dim(0), n = a.dim(1);
  void *A = a.floats(2, int64_t{m} * n);
  int *ipiv = a.ints(3, std::min(m, n));
  if (!a.ok()) return nullptr;
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dgetrf(LAPACK_ROW_MAJOR, m, n, D(A), std::max(1, n), ipiv)
                          : LAPACKE_sgetrf(LAPACK_ROW_MAJOR, m, n, S(A), std::max(1, n), ipiv));
}

// potrf(lower, n, A): A = L L^T (lower) or U^T U; only that triangle of A is read and written.
napi_value Potrf(napi_env env, napi_callback_info info) {
  Args a(env, info, "potrf", 3);
  const bool lower = a.flag(0);
  const int n = a.dim(1);
  void *A = a.floats(2, int64_t{n} * n);
  if (!a.ok()) return nullptr;
  const char uplo = lower ? 'L' : 'U';
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dpotrf(LAPACK_ROW_MAJOR, uplo, n, D(A), std::max(1, n))
                          : LAPACKE_spotrf(LAPACK_ROW_MAJOR, uplo, n, S(A), std::max(1, n)));
}

// trsm(left, lower, transpose, unitDiagonal, m, n, alpha, A, B): B (m x n) becomes alpha op(A)^-1 B
// (left) or alpha B op(A)^-1, A triangular (m x m or n x n).
napi_value Trsm(napi_env env, napi_callback_info info) {
  Args a(env, info, "trsm", 9);
  const bool left = a.flag(0), lower = a.flag(1), trans = a.flag(2), unit = a.flag(3);
  const int m = a.dim(4), n = a.dim(5), k = left ? m : n;
  const double alpha = a.number(6);
  void *A = a.floats(7, int64_t{k} * k), *B = a.floats(8, int64_t{m} * n);
  if (!a.ok()) return nullptr;
  if (m == 0 || n == 0) return a.result(0);
  const auto side = left ? CblasLeft : CblasRight;
  const auto uplo = lower ? CblasLower : CblasUpper;
  const auto op = trans ? CblasTrans : CblasNoTrans;
  const auto diag = unit ? CblasUnit : CblasNonUnit;
  const tessera::BlasCall call;
  if (a.f64()) cblas_dtrsm(CblasRowMajor, side, uplo, op, diag, m, n, alpha, D(A), std::max(1, k), D(B), std::max(1, n));
  else cblas_strsm(CblasRowMajor, side, uplo, op, diag, m, n, static_cast<float>(alpha), S(A), std::max(1, k), S(B), std::max(1, n));
  return a.result(0);
}

// syrk(n, k, A, C): C's lower triangle (n x n) becomes C - A A^T (A n x k); the upper is not touched.
napi_value Syrk(napi_env env, napi_callback_info info) {
  Args a(env, info, "syrk", 4);
  const int n = a.dim(0), k = a.dim(1);
  void *A = a.floats(2, int64_t{n} * k), *C = a.floats(3, int64_t{n} * n);
  if (!a.ok()) return nullptr;
  if (n == 0 || k == 0) return a.result(0);
  const tessera::BlasCall call;
  if (a.f64()) cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, k, -1.0, D(A), std::max(1, k), 1.0, D(C), std::max(1, n));
  else cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, k, -1.0f, S(A), std::max(1, k), 1.0f, S(C), std::max(1, n));
  return a.result(0);
}

// gesv(n, nrhs, A, ipiv, B): solves A X = B (B n x nrhs becomes X); A becomes its LU factors.
napi_value Gesv(napi_env env, napi_callback_info info) {
  Args a(env, info, "gesv", 5);
  const int n = a.dim(0), nrhs = a.dim(1);
  void *A = a.floats(2, int64_t{n} * n);
  int *ipiv = a.ints(3, n);
  void *B = a.floats(4, int64_t{n} * nrhs);
  if (!a.ok()) return nullptr;
  const tessera::BlasCall call;
  return a.result(a.f64() ? LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, D(A), std::max(1, n), ipiv, D(B), std::max(1, nrhs))
                          : LAPACKE_sgesv(LAPACK_ROW_MAJOR, n, nrhs, S(A), std::max(1, n), ipiv, S(B), std::max(1, nrhs)));
}

#undef D
#undef S

}  // namespace

void registerLapack(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"geqrf", Geqrf}, {"orgqr", Orgqr}, {"gesdd", Gesdd}, {"getrf", Getrf}, {"potrf", Potrf}, {"trsm", Trsm}, {"syrk", Syrk}, {"gesv", Gesv}};
  for (const auto &f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}
