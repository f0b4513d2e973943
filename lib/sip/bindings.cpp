#include "sip/bindings.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace sb::sip {
namespace {

// Characters that a Call-ID word (RFC 3261 §25.1) and a SIP user part (§25.1
// user-unreserved and unreserved) both allow; any other is sent as %HH.
bool plainInCallId(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("-_.!~*'()+").find(c) != std::string_view::npos;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string keepaliveTag(uint64_t id, std::string_view extension) {
  static const char* hex = "0123456789ABCDEF";
  std::string tag = std::to_string(id) + '-';
  for (char c : extension) {
    if (plainInCallId(c)) {
      tag += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      tag.append({'%', hex[b >> 4], hex[b & 15]});
    }
  }
  return tag;
}

std::optional<std::pair<std::string, uint64_t>> parseKeepaliveTag(std::string_view tag) {
  uint64_t id = 0;
  const char* end = tag.data() + tag.size();
  const auto [p, ec] = std::from_chars(tag.data(), end, id);
  if (ec != std::errc() || p == end || *p != '-') return std::nullopt;
  std::string extension;
  for (const char* c = p + 1; c < end; ++c) {
    if (*c != '%') {
      extension += *c;
      continue;
    }
    const int hi = end - c > 2 ? hexValue(c[1]) : -1;
    const int lo = hi >= 0 ? hexValue(c[2]) : -1;
    if (lo < 0) return std::nullopt;
    extension += static_cast<char>(hi << 4 | lo);
    c += 2;
  }
  if (extension.empty()) return std::nullopt;
  return std::pair{std::move(extension), id};
}

BindingTable::Texts::Texts(std::string_view key, std::string_view uri, std::string_view source, std::string_view callId)
    : uriLen_(static_cast<uint32_t>(uri.size())),
      keyLen_(key == uri ? kSameAsUri : static_cast<uint32_t>(key.size())),
      sourceLen_(static_cast<uint32_t>(source.size())),
      callIdLen_(static_cast<uint32_t>(callId.size())) {
  if (size() == 0) return;
  chars_ = std::make_unique_for_overwrite<char[]>(size());
  char* p = chars_.get();
  for (std::string_view s : {uri, keyLen_ == kSameAsUri ? std::string_view() : key, source, callId}) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
}

BindingTable::Texts::Texts(const Texts& o)
    : uriLen_(o.uriLen_), keyLen_(o.keyLen_), sourceLen_(o.sourceLen_), callIdLen_(o.callIdLen_) {
  if (size() == 0) return;
  chars_ = std::make_unique_for_overwrite<char[]>(size());
  std::memcpy(chars_.get(), o.chars_.get(), size());
}

Binding BindingTable::toBinding(const Entry& e) {
  Binding b;
  b.id = e.id;
  b.key = e.texts.key();
  b.uri = e.texts.uri();
  b.source = e.texts.source();
  b.userAgent = e.userAgent.text();
  b.callId = e.texts.callId();
  b.cseq = e.cseq;
  b.expiresAtMs = e.expiresAtMs;
  b.updatedAtMs = e.updatedAtMs;
  b.reachable = e.reachable;
  b.awaiting = e.awaiting;
  b.missed = e.missed;
  b.nextProbeMs = e.nextProbeMs;
  return b;
}

BindingTable::Entries BindingTable::unexpired(const Entries* v, int64_t nowMs) {
  Entries out;
  if (!v) return out;
  for (const auto& b : *v)
    if (b.expiresAtMs > nowMs) out.push_back(b);
  return out;
}

BindingTable::AgentRef BindingTable::agent(std::string_view userAgent) {
  if (userAgent.empty()) return {};
  auto it = agents_.find(userAgent);
  if (it == agents_.end()) it = agents_.emplace(std::string(userAgent), 0).first;
  return AgentRef(&*it);
}

void BindingTable::refresh(Entry& b, const ContactChange& c, const BindingUpdate& u, int64_t nowMs) {
  if (b.texts.source() != u.source) {
    // The phone moved (new NAT mapping): judge reachability afresh.
    b.reachable = true;
    b.awaiting = false;
    b.missed = 0;
  }
  // A refresh mostly repeats the texts (same contact, source and Call-ID, §10.2.4).
  if (b.texts.uri() != c.uri || b.texts.key() != c.key || b.texts.source() != u.source || b.texts.callId() != u.callId)
    b.texts = Texts(c.key, c.uri, u.source, u.callId);
  if (b.userAgent.text() != u.userAgent) b.userAgent = agent(u.userAgent);
  b.cseq = u.cseq;
  b.expiresAtMs = nowMs + c.expiresSeconds * 1000;
  b.updatedAtMs = nowMs;
}

UpdateResult BindingTable::apply(const BindingUpdate& u, int64_t nowMs, size_t maxContacts) {
  UpdateResult r;
  const auto it = byExtension_.find(u.extension);
  Entries next = unexpired(it == byExtension_.end() ? nullptr : &it->second, nowMs);
  r.hadBindings = !next.empty();
  if (u.wildcard) {
    // §10.3 step 6: "*" removes every binding, subject to the step 7 ordering rule.
    for (const auto& b : next)
      if (b.texts.callId() == u.callId && u.cseq < b.cseq)
        return {UpdateResult::Status::outOfOrder, false, r.hadBindings, {}};
    r.changed = r.hadBindings;
    setBindings(u.extension, {});
    return r;
  }
  std::set<std::string_view> touched;  // keys of the contacts this request adds or refreshes
  for (const auto& c : u.contacts) {
    auto b = std::find_if(next.begin(), next.end(), [&](const Entry& x) { return x.texts.key() == c.key; });
    if (b != next.end() && b->texts.callId() == u.callId && u.cseq <= b->cseq) {
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
      Entry nb;
      nb.id = nextId_++;
      nb.texts = Texts(c.key, c.uri, u.source, u.callId);
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
        if (!touched.count(b->texts.key()) && (victim == next.end() || b->updatedAtMs < victim->updatedAtMs))
          victim = b;
      r.displaced.push_back(toBinding(*victim));
      next.erase(victim);
    }
  }
  if (r.changed || next.size() != (it == byExtension_.end() ? 0 : it->second.size()))
    setBindings(u.extension, std::move(next));
  return r;
}

void BindingTable::setBindings(const std::string& extension, Entries next) {
  auto it = byExtension_.find(extension);
  const size_t before = it == byExtension_.end() ? 0 : it->second.size();
  count_ = count_ - before + next.size();
  dirty_.insert(extension);
  if (next.empty()) {
    if (it != byExtension_.end()) byExtension_.erase(it);
  } else if (it == byExtension_.end()) {
    byExtension_.emplace(extension, std::move(next));
  } else {
    it->second = std::move(next);
  }
}

std::vector<Binding> BindingTable::list(const std::string& extension, int64_t nowMs) const {
  std::vector<Binding> out;
  const auto it = byExtension_.find(extension);
  if (it == byExtension_.end()) return out;
  for (const auto& b : it->second)
    if (b.expiresAtMs > nowMs) out.push_back(toBinding(b));
  return out;
}

std::vector<std::string> BindingTable::expire(int64_t nowMs) {
  std::vector<std::string> emptied;
  std::vector<std::pair<std::string, Entries>> changes;
  for (const auto& [ext, v] : byExtension_) {
    auto left = unexpired(&v, nowMs);
    if (left.size() != v.size()) changes.emplace_back(ext, std::move(left));
  }
  for (auto& [ext, left] : changes) {
    if (left.empty()) emptied.push_back(ext);
    setBindings(ext, std::move(left));
  }
  // User-Agents no entry holds any more (from here, once a second, rather than
  // on every release, which would need a way back from an entry to this table).
  std::erase_if(agents_, [](const auto& a) { return a.second == 0; });
  return emptied;
}

void BindingTable::restore(const std::string& extension, const Binding& b, int64_t nowMs, int64_t firstProbeMs) {
  if (b.expiresAtMs <= nowMs) return;
  auto& v = byExtension_[extension];
  if (std::any_of(v.begin(), v.end(), [&](const Entry& x) { return x.texts.key() == b.key; })) return;
  Entry e;
  e.id = nextId_++;
  e.expiresAtMs = b.expiresAtMs;
  e.updatedAtMs = b.updatedAtMs;
  e.nextProbeMs = firstProbeMs;
  e.texts = Texts(b.key, b.uri, b.source, b.callId);
  e.userAgent = agent(b.userAgent);
  e.cseq = b.cseq;
  v.push_back(std::move(e));  // reachable, not awaiting, no misses
  ++count_;
}

std::vector<std::string> BindingTable::retainOnly(const std::set<std::string>& extensions) {
  std::vector<std::string> gone;
  for (const auto& [ext, v] : byExtension_)
    if (!extensions.count(ext)) gone.push_back(ext);
  for (const auto& ext : gone) setBindings(ext, {});
  return gone;
}

bool BindingTable::anyReachable(const Entries& v) {
  return std::any_of(v.begin(), v.end(), [](const Entry& b) { return b.reachable; });
}

std::vector<Probe> BindingTable::dueProbes(int64_t nowMs, int64_t intervalMs, int maxMisses,
                                           std::vector<ReachabilityChange>& changes) {
  std::vector<Probe> probes;
  // Misses are counted up to maxMisses only, so they fit missed's 8 bits.
  maxMisses = std::clamp(maxMisses, 1, int{UINT8_MAX});
  for (auto& [ext, v] : byExtension_) {
    for (auto& b : v) {
      if (b.nextProbeMs == 0) b.nextProbeMs = nowMs + intervalMs;
      if (nowMs < b.nextProbeMs || b.expiresAtMs <= nowMs) continue;
      if (b.awaiting && b.missed < maxMisses && ++b.missed == maxMisses && b.reachable) {
        b.reachable = false;
        changes.push_back({ext, std::string(b.texts.uri()), false, false});
      }
      b.awaiting = true;
      b.nextProbeMs = nowMs + intervalMs;
      probes.push_back({b.id, ext, std::string(b.texts.uri()), std::string(b.texts.source())});
    }
    for (auto& c : changes)
      if (c.extension == ext) c.anyReachable = anyReachable(v);
  }
  return probes;
}

std::optional<ReachabilityChange> BindingTable::answered(const std::string& extension, uint64_t id) {
  const auto it = byExtension_.find(extension);
  if (it == byExtension_.end()) return std::nullopt;
  for (auto& b : it->second) {  // an extension has a few bindings (registrar.maxContacts)
    if (b.id != id) continue;
    b.awaiting = false;
    b.missed = 0;
    if (b.reachable) return std::nullopt;
    b.reachable = true;
    return ReachabilityChange{extension, std::string(b.texts.uri()), true, true};
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
