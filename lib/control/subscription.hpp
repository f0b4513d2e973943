#pragma once
// Whose events a connection receives: none (the default), all, or a set of agents.
// Gateway events that name no agent go to `all` subscribers only. Events of a
// topic (queueChanged's "queues") go only to connections that asked for the
// topic, whatever else they chose: clients written for the SDK's events never
// see them.
#include <set>
#include <string>

namespace sb::control {

// The topic of queueChanged events (Client.subscribe's `queues`).
inline constexpr const char* kQueuesTopic = "queues";

struct Subscription {
  bool all = false;
  std::set<std::string> userIds;
  bool queues = false;

  bool any() const { return all || !userIds.empty() || queues; }
  bool matches(const std::string& userId, const std::string& topic = {}) const {
    if (!topic.empty()) return topic == kQueuesTopic && queues;
    if (all) return true;
    return !userId.empty() && userIds.count(userId) > 0;
  }
};

}  // namespace sb::control
