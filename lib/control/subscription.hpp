#pragma once
// Whose events a connection receives: none (the default), all, or a set of agents.
// Gateway events that name no agent go to `all` subscribers only.
#include <set>
#include <string>

namespace sb::control {

struct Subscription {
  bool all = false;
  std::set<std::string> userIds;

  bool any() const { return all || !userIds.empty(); }
  bool matches(const std::string& userId) const {
    if (all) return true;
    return !userId.empty() && userIds.count(userId) > 0;
  }
};

}  // namespace sb::control
