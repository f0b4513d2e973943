#pragma once
// Ownership for Sofia-SIP's C handles: each gets a unique_ptr with its destroy
// function, so no path through the SIP thread can leak or double-free one.
#include <sofia-sip/msg.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include <memory>

namespace sb::sip {

struct RootDeleter {
  void operator()(su_root_t* r) const { su_root_destroy(r); }
};
struct AgentDeleter {
  void operator()(nta_agent_t* a) const { nta_agent_destroy(a); }
};
struct MsgDeleter {
  void operator()(msg_t* m) const { msg_destroy(m); }
};
// Destroying a timer also stops it, so a timer can never fire into its freed owner.
struct TimerDeleter {
  void operator()(su_timer_t* t) const { su_timer_destroy(t); }
};

using RootPtr = std::unique_ptr<su_root_t, RootDeleter>;
using AgentPtr = std::unique_ptr<nta_agent_t, AgentDeleter>;
using MsgPtr = std::unique_ptr<msg_t, MsgDeleter>;
// The one owner type of every Sofia timer in seatbridge (registrar, call legs,
// core's timers): movable only as a whole, so no copy or temporary can destroy a
// timer that is still set.
using TimerPtr = std::unique_ptr<su_timer_t, TimerDeleter>;

// su_home_t as a value: memory allocated from it lives as long as the object.
class Home {
 public:
  Home() { su_home_init(&home_); }
  ~Home() { su_home_deinit(&home_); }
  Home(const Home&) = delete;
  Home& operator=(const Home&) = delete;
  su_home_t* get() { return &home_; }

 private:
  su_home_t home_ = {};
};

}  // namespace sb::sip
