#pragma once
// What core/ asks the I/O layers to do after each input: events to publish on the
// control socket and timers to start or cancel. Later issues add SIP actions (ring,
// bridge, hang up) as further vectors; existing members stay as they are.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/errors.hpp"

namespace sb::core {

// One event for the control socket. The control layer adds `seq`; `userId` is the
// agent the event concerns (subscriptions filter on it), absent for pure gateway
// events. `data` holds the SDK's payload fields with the SDK's names.
struct Event {
  std::string name;
  std::optional<std::string> userId;
  nlohmann::json data = nlohmann::json::object();
};

// Timer ids are unique for the Gateway's lifetime and never reused, so a firing
// that raced with a cancel is recognised as stale and ignored.
using TimerId = uint64_t;

struct TimerAction {
  enum class Op { start, cancel };
  Op op = Op::start;
  TimerId id = 0;
  TimePoint deadline{};  // monotonic; meaningful for start only
};

struct Outputs {
  std::vector<Event> events;
  std::vector<TimerAction> timers;

  bool empty() const { return events.empty() && timers.empty(); }
  void append(Outputs&& other);
};

// A method call's answer plus what it caused. The I/O layer replies with `result`
// and then performs `outputs` (events after the reply is queued is fine: the
// control layer orders them by seq anyway).
struct Outcome {
  Result result;
  Outputs outputs;

  // A method answer with nothing else to do: the shapes every handler returns.
  static Outcome failure(std::string_view code, std::string message) {
    return Outcome{Result::failure(code, std::move(message)), {}};
  }
  static Outcome success(nlohmann::json data) { return Outcome{Result::success(std::move(data)), {}}; }
};

inline void Outputs::append(Outputs&& other) {
  for (auto& e : other.events) events.push_back(std::move(e));
  for (auto& t : other.timers) timers.push_back(t);
}

}  // namespace sb::core
