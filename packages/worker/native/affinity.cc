// CPU binding (`tessera worker --cpus`), the taskset/numactl of the toolbox, for Linux.
// getAffinity(): the CPUs this process may run on now. setAffinity(cpus): pins every thread of
// the process (each entry of /proc/self/task) to those CPUs, before the pool starts, so the pool
// threads and OpenBLAS's threads made later inherit the mask; returns how many threads it pinned.
#include <node_api.h>

#ifdef __linux__
#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "affinity.h"

namespace tessera {

namespace {
napi_value throwError(napi_env env, const std::string &message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}
}  // namespace

napi_value GetAffinity(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_array(env, &out);
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return throwError(env, std::string("sched_getaffinity: ") + std::strerror(errno));
  uint32_t k = 0;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &set)) continue;
    napi_value v;
    napi_create_int32(env, c, &v);
    napi_set_element(env, out, k++, v);
  }
#endif
  return out;
}

napi_value SetAffinity(napi_env env, napi_callback_info info) {
#ifndef __linux__
  return throwError(env, "CPU binding is only implemented on Linux");
#else
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool isArray = false;
  if (argc != 1 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray) return throwError(env, "setAffinity takes an array of CPU numbers");
  uint32_t n = 0;
  napi_get_array_length(env, argv[0], &n);
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    int32_t c = -1;
    napi_get_element(env, argv[0], i, &v);
    if (napi_get_value_int32(env, v, &c) != napi_ok || c < 0 || c >= CPU_SETSIZE) return throwError(env, "setAffinity: a CPU number is not an integer in [0, CPU_SETSIZE)");
    CPU_SET(c, &set);
  }
  if (n == 0) return throwError(env, "setAffinity: no CPUs given");
  DIR *dir = opendir("/proc/self/task");
  if (!dir) return throwError(env, std::string("opendir /proc/self/task: ") + std::strerror(errno));
  int pinned = 0;
  std::string failure;
  while (dirent *e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const pid_t tid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
    if (sched_setaffinity(tid, sizeof(set), &set) == 0) pinned++;
    else if (errno != ESRCH && failure.empty()) failure = std::string("sched_setaffinity: ") + std::strerror(errno);  // ESRCH: it ended meanwhile
  }
  closedir(dir);
  if (!failure.empty()) return throwError(env, failure);
  napi_value out;
  napi_create_int32(env, pinned, &out);
  return out;
#endif
}

}  // namespace tessera
