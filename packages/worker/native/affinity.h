#pragma once
#include <node_api.h>

namespace tessera {
// See affinity.cc.
napi_value GetAffinity(napi_env env, napi_callback_info info);
napi_value SetAffinity(napi_env env, napi_callback_info info);
}  // namespace tessera
