// The libc function an interposer stands in front of: looked up with
// dlsym(RTLD_NEXT) on first use and cached (racing threads store the same
// value).
#pragma once

#include <dlfcn.h>

namespace ckpt::agent {

template <class Function>
Function next_symbol(Function& cache, const char* name) {
  Function function = __atomic_load_n(&cache, __ATOMIC_RELAXED);
  if (function == nullptr) {
    function = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
    __atomic_store_n(&cache, function, __ATOMIC_RELAXED);
  }
  return function;
}

}  // namespace ckpt::agent
