#pragma once
// Events the host emits itself (not core/): they describe the Gateway's state as
// the host samples it after each batch, not a step of core's state machines.
#include <string_view>

namespace sb::host::event {

// A skill group's queue changed: a customer joined or left it, or the
// longest-waiting one did. Topic "queues" only (control/subscription.hpp).
inline constexpr std::string_view queueChanged = "queueChanged";

}  // namespace sb::host::event
