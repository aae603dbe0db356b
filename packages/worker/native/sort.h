#pragma once
#include <node_api.h>

namespace tessera {
// See sort.cc.
napi_value SortLanes(napi_env env, napi_callback_info info);
}  // namespace tessera
