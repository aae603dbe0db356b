// sortLanes(data, n): sorts each run of n elements of a Float64Array or Float32Array in place,
// in numpy's order (NaN last). std::sort (introsort) on the chunk's own memory: about twice V8's
// TypedArray sort here. Equal values are interchangeable but for zeros, whose signs the caller
// puts back in input order (numpy's stable sort keeps -0 and 0 as they came).
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "sort.h"

namespace tessera {

template <class T>
void sortRuns(T *p, size_t length, size_t n) {
  for (size_t o = 0; o + n <= length; o += n) {
    T *end = std::partition(p + o, p + o + n, [](T v) { return !std::isnan(v); });
    std::sort(p + o, end);
  }
}

napi_value SortLanes(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_typedarray_type type;
  napi_value buffer;
  size_t length, offset;
  void *data;
  double n = 0;
  if (argc != 2 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok ||
      (type != napi_float64_array && type != napi_float32_array) || napi_get_value_double(env, argv[1], &n) != napi_ok || !(n >= 1) ||
      n != std::floor(n) || static_cast<size_t>(n) > length || length % static_cast<size_t>(n) != 0) {
    napi_throw_type_error(env, nullptr, "sortLanes takes a Float64Array or Float32Array and a lane length that divides it");
    return nullptr;
  }
  if (type == napi_float64_array) sortRuns(static_cast<double *>(data), length, static_cast<size_t>(n));
  else sortRuns(static_cast<float *>(data), length, static_cast<size_t>(n));
  return nullptr;
}

}  // namespace tessera
