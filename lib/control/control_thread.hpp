#pragma once
// The control thread: the loop that owns the control socket and every client
// connection (common/loop_thread.hpp).
#include "common/loop_thread.hpp"

namespace sb::control {

class ControlThread : public LoopThread {
 public:
  ControlThread() : LoopThread("control") {}
};

}  // namespace sb::control
