#pragma once
// Where a C library calls back into C++ (libevent's callbacks in lib/control;
// Sofia's go through LegCallbacks and the like in lib/sip): no exception may
// unwind through C frames, so each callback is a noexcept trampoline whose body
// runs here, and what would have escaped is logged instead.
#include <exception>

#include "common/log.hpp"

namespace sb {

template <typename Fn>
void guardedCallback(const char* component, const char* what, Fn&& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& e) {
    SB_ERROR(component, "%s failed: %s", what, e.what());
  } catch (...) {
    SB_ERROR(component, "%s failed", what);
  }
}

}  // namespace sb
