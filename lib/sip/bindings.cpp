#include "sip/bindings.hpp"

#include <algorithm>

namespace sb::sip {
namespace {

std::vector<Binding> unexpired(const std::vector<Binding>* v, int64_t nowMs) {
  std::vector<Binding> out;
  if (!v) return out;
  for (const auto& b : *v)
    if (b.expiresAtMs > nowMs) out.push_back(b);
  return out;
}

void refresh(Binding& b, const ContactChange& c, const BindingUpdate& u, int64_t nowMs) {
  if (b.source != u.source) {
    // The phone moved (new NAT mapping): judge reachability afresh.
    b.reachable = true;
    b.awaiting = false;
    b.missed = 0;
  }
  b.uri = c.uri;
  b.source = u.source;
  b.userAgent = u.userAgent;
  b.callId = u.callId;
  b.cseq = u.cseq;
  b.expiresAtMs = nowMs + c.expiresSeconds * 1000;
  b.updatedAtMs = nowMs;
}

}  // namespace

UpdateResult BindingTable::apply(const BindingUpdate& u, int64_t nowMs, size_t maxContacts) {
  UpdateResult r;
  const auto it = byExtension_.find(u.extension);
  std::vector<Binding> next = unexpired(it == byExtension_.end() ? nullptr : &it->second, nowMs);
  r.hadBindings = !next.empty();
  if (u.wildcard) {
    // §10.3 step 6: "*" removes every binding, subject to the step 7 ordering rule.
    for (const auto& b : next)
      if (b.callId == u.callId && u.cseq < b.cseq) return {UpdateResult::Status::outOfOrder, false, r.hadBindings, {}};
    r.changed = r.hadBindings;
    setBindings(u.extension, {});
    return r;
  }
  std::set<std::string> touched;  // contacts this request adds or refreshes
  for (const auto& c : u.contacts) {
    auto b = std::find_if(next.begin(), next.end(), [&](const Binding& x) { return x.key == c.key; });
    if (b != next.end() && b->callId == u.callId && u.cseq <= b->cseq) {
      // §10.3 step 7: same Call-ID needs a higher CSeq. An equal one is this very
      // request again (a retransmission we answer statelessly): no change.
      if (u.cseq < b->cseq) return {UpdateResult::Status::outOfOrder, false, r.hadBindings, {}};
      if (c.expiresSeconds > 0) touched.insert(c.key);
      continue;
    }
    if (b != next.end() && c.expiresSeconds == 0) {
      next.erase(b);
      r.changed = true;
    } else if (b != next.end()) {
      refresh(*b, c, u, nowMs);
      touched.insert(c.key);
      r.changed = true;
    } else if (c.expiresSeconds > 0) {
      Binding nb;
      nb.id = nextId_++;
      nb.key = c.key;
      refresh(nb, c, u, nowMs);
      next.push_back(std::move(nb));
      touched.insert(c.key);
      r.changed = true;
    }
  }
  if (next.size() > maxContacts) {
    if (touched.size() > maxContacts) return {UpdateResult::Status::tooManyContacts, false, r.hadBindings, {}};
    // The documented overflow rule: the binding refreshed least recently (and not
    // part of this request) gives way, so a rebooted phone always gets in.
    while (next.size() > maxContacts) {
      auto victim = next.end();
      for (auto b = next.begin(); b != next.end(); ++b)
        if (!touched.count(b->key) && (victim == next.end() || b->updatedAtMs < victim->updatedAtMs)) victim = b;
      r.displaced.push_back(*victim);
      next.erase(victim);
    }
  }
  if (r.changed || next.size() != (it == byExtension_.end() ? 0 : it->second.size()))
    setBindings(u.extension, std::move(next));
  return r;
}

void BindingTable::setBindings(const std::string& extension, std::vector<Binding> next) {
  auto it = byExtension_.find(extension);
  static const std::vector<Binding> none;
  const std::vector<Binding>& before = it == byExtension_.end() ? none : it->second;
  reindex(extension, before, next);
  count_ = count_ - before.size() + next.size();
  dirty_.insert(extension);
  if (next.empty()) {
    if (it != byExtension_.end()) byExtension_.erase(it);
  } else if (it == byExtension_.end()) {
    byExtension_.emplace(extension, std::move(next));
  } else {
    it->second = std::move(next);
  }
}

void BindingTable::reindex(const std::string& extension, const std::vector<Binding>& before,
                           const std::vector<Binding>& after) {
  for (const auto& b : before) byId_.erase(b.id);
  for (const auto& b : after) byId_[b.id] = extension;
}

std::vector<Binding> BindingTable::list(const std::string& extension, int64_t nowMs) const {
  const auto it = byExtension_.find(extension);
  return unexpired(it == byExtension_.end() ? nullptr : &it->second, nowMs);
}

std::vector<std::string> BindingTable::expire(int64_t nowMs) {
  std::vector<std::string> emptied;
  std::vector<std::pair<std::string, std::vector<Binding>>> changes;
  for (const auto& [ext, v] : byExtension_) {
    auto left = unexpired(&v, nowMs);
    if (left.size() != v.size()) changes.emplace_back(ext, std::move(left));
  }
  for (auto& [ext, left] : changes) {
    if (left.empty()) emptied.push_back(ext);
    setBindings(ext, std::move(left));
  }
  return emptied;
}

void BindingTable::restore(const std::string& extension, Binding b, int64_t nowMs, int64_t firstProbeMs) {
  if (b.expiresAtMs <= nowMs) return;
  auto& v = byExtension_[extension];
  if (std::any_of(v.begin(), v.end(), [&](const Binding& x) { return x.key == b.key; })) return;
  b.id = nextId_++;
  b.reachable = true;
  b.awaiting = false;
  b.missed = 0;
  b.nextProbeMs = firstProbeMs;
  byId_[b.id] = extension;
  v.push_back(std::move(b));
  ++count_;
}

std::vector<std::string> BindingTable::retainOnly(const std::set<std::string>& extensions) {
  std::vector<std::string> gone;
  for (const auto& [ext, v] : byExtension_)
    if (!extensions.count(ext)) gone.push_back(ext);
  for (const auto& ext : gone) setBindings(ext, {});
  return gone;
}

bool BindingTable::anyReachable(const std::vector<Binding>& v) const {
  return std::any_of(v.begin(), v.end(), [](const Binding& b) { return b.reachable; });
}

std::vector<Probe> BindingTable::dueProbes(int64_t nowMs, int64_t intervalMs, int maxMisses,
                                           std::vector<ReachabilityChange>& changes) {
  std::vector<Probe> probes;
  for (auto& [ext, v] : byExtension_) {
    for (auto& b : v) {
      if (b.nextProbeMs == 0) b.nextProbeMs = nowMs + intervalMs;
      if (nowMs < b.nextProbeMs || b.expiresAtMs <= nowMs) continue;
      if (b.awaiting && ++b.missed == maxMisses && b.reachable) {
        b.reachable = false;
        changes.push_back({ext, b.uri, false, false});
      }
      b.awaiting = true;
      b.nextProbeMs = nowMs + intervalMs;
      probes.push_back({b.id, ext, b.uri, b.source});
    }
    for (auto& c : changes)
      if (c.extension == ext) c.anyReachable = anyReachable(v);
  }
  return probes;
}

std::optional<ReachabilityChange> BindingTable::answered(uint64_t id) {
  const auto idx = byId_.find(id);
  if (idx == byId_.end()) return std::nullopt;
  auto& v = byExtension_[idx->second];
  for (auto& b : v) {
    if (b.id != id) continue;
    b.awaiting = false;
    b.missed = 0;
    if (b.reachable) return std::nullopt;
    b.reachable = true;
    return ReachabilityChange{idx->second, b.uri, true, true};
  }
  return std::nullopt;
}

std::vector<std::string> BindingTable::extensions() const {
  std::vector<std::string> out;
  out.reserve(byExtension_.size());
  for (const auto& [ext, v] : byExtension_) out.push_back(ext);
  return out;
}

std::set<std::string> BindingTable::takeDirty() {
  std::set<std::string> out;
  out.swap(dirty_);
  return out;
}

}  // namespace sb::sip
