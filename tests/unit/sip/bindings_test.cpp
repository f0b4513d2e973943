#include <doctest/doctest.h>

#include "sip/bindings.hpp"

using namespace sb::sip;

namespace {
BindingUpdate upd(const std::string& callId, uint32_t cseq, std::vector<ContactChange> cs, std::string src = "udp:1.1.1.1:5060") {
  BindingUpdate u;
  u.extension = "1001";
  u.callId = callId;
  u.cseq = cseq;
  u.contacts = std::move(cs);
  u.source = std::move(src);
  return u;
}
ContactChange c(const std::string& k, int64_t e) { return {k, k, e}; }
}  // namespace

TEST_CASE("bindings: add, refresh, remove one, and expiry") {
  BindingTable t;
  auto r = t.apply(upd("a", 1, {c("sip:x@h", 60)}), 0, 3);
  CHECK(r.status == UpdateResult::Status::ok);
  CHECK(r.changed);
  CHECK_FALSE(r.hadBindings);
  CHECK(t.contactCount() == 1);
  CHECK(t.list("1001", 0).at(0).expiresAtMs == 60'000);
  r = t.apply(upd("a", 2, {c("sip:x@h", 120)}), 10'000, 3);
  CHECK(t.list("1001", 10'000).at(0).expiresAtMs == 130'000);
  CHECK(t.takeDirty() == std::set<std::string>{"1001"});
  r = t.apply(upd("a", 3, {c("sip:y@h", 60)}), 10'000, 3);
  CHECK(t.contactCount() == 2);
  r = t.apply(upd("b", 1, {c("sip:x@h", 0)}), 10'000, 3);  // §10.3 step 7: another Call-ID may remove
  CHECK(t.contactCount() == 1);
  CHECK(t.expire(69'999).empty());
  CHECK(t.expire(70'000) == std::vector<std::string>{"1001"});
  CHECK(t.contactCount() == 0);
  CHECK(t.list("1001", 70'000).empty());
}

TEST_CASE("bindings: same Call-ID needs a higher CSeq; an equal one is a retransmission") {
  BindingTable t;
  t.apply(upd("a", 5, {c("sip:x@h", 60)}), 0, 3);
  auto r = t.apply(upd("a", 4, {c("sip:x@h", 0)}), 1000, 3);
  CHECK(r.status == UpdateResult::Status::outOfOrder);
  CHECK(t.contactCount() == 1);
  r = t.apply(upd("a", 5, {c("sip:x@h", 60)}), 1000, 3);
  CHECK(r.status == UpdateResult::Status::ok);
  CHECK_FALSE(r.changed);
  CHECK(t.list("1001", 1000).at(0).expiresAtMs == 60'000);  // untouched
}

TEST_CASE("bindings: all or nothing when one contact is out of order") {
  BindingTable t;
  t.apply(upd("a", 5, {c("sip:x@h", 60)}), 0, 3);
  auto r = t.apply(upd("a", 3, {c("sip:new@h", 60), c("sip:x@h", 60)}), 0, 3);
  CHECK(r.status == UpdateResult::Status::outOfOrder);
  CHECK(t.contactCount() == 1);
}

TEST_CASE("bindings: wildcard removes all, and respects ordering") {
  BindingTable t;
  t.apply(upd("a", 5, {c("sip:x@h", 60), c("sip:y@h", 60)}), 0, 3);
  BindingUpdate w = upd("a", 4, {});
  w.wildcard = true;
  CHECK(t.apply(w, 0, 3).status == UpdateResult::Status::outOfOrder);
  w.cseq = 6;
  auto r = t.apply(w, 0, 3);
  CHECK(r.changed);
  CHECK(r.hadBindings);
  CHECK(t.contactCount() == 0);
}

TEST_CASE("bindings: maxContacts displaces the least recently refreshed; too many in one request is refused") {
  BindingTable t;
  t.apply(upd("a", 1, {c("sip:1@h", 600)}), 0, 2);
  t.apply(upd("b", 1, {c("sip:2@h", 600)}), 1000, 2);
  t.apply(upd("a", 2, {c("sip:1@h", 600)}), 2000, 2);  // 1 refreshed: 2 is now the oldest
  auto r = t.apply(upd("c", 1, {c("sip:3@h", 600)}), 3000, 2);
  REQUIRE(r.displaced.size() == 1);
  CHECK(r.displaced[0].key == "sip:2@h");
  CHECK(t.contactCount() == 2);
  r = t.apply(upd("d", 1, {c("sip:4@h", 600), c("sip:5@h", 600), c("sip:6@h", 600)}), 4000, 2);
  CHECK(r.status == UpdateResult::Status::tooManyContacts);
  CHECK(t.contactCount() == 2);
}

TEST_CASE("bindings: keepalive misses make a contact unreachable; an answer brings it back") {
  BindingTable t;
  t.apply(upd("a", 1, {c("sip:x@h", 3600)}), 0, 3);
  std::vector<ReachabilityChange> ch;
  CHECK(t.dueProbes(0, 1000, 3, ch).empty());  // schedules the first one
  auto p = t.dueProbes(1000, 1000, 3, ch);
  REQUIRE(p.size() == 1);
  CHECK(p[0].source == "udp:1.1.1.1:5060");
  t.dueProbes(2000, 1000, 3, ch);
  t.dueProbes(3000, 1000, 3, ch);
  CHECK(ch.empty());
  t.dueProbes(4000, 1000, 3, ch);  // third miss
  REQUIRE(ch.size() == 1);
  CHECK_FALSE(ch[0].reachable);
  CHECK_FALSE(ch[0].anyReachable);
  CHECK_FALSE(t.list("1001", 4000).at(0).reachable);
  auto back = t.answered(p[0].id);
  REQUIRE(back);
  CHECK(back->reachable);
  CHECK_FALSE(t.answered(p[0].id));  // already reachable: no second fact
  CHECK_FALSE(t.answered(999));
}

TEST_CASE("bindings: restore skips expired and duplicate rows, retainOnly drops unconfigured extensions") {
  BindingTable t;
  Binding b;
  b.key = b.uri = "sip:x@h";
  b.expiresAtMs = 5000;
  t.restore("1001", b, 1000, 2000);
  t.restore("1001", b, 1000, 2000);
  b.expiresAtMs = 500;
  b.key = "sip:old@h";
  t.restore("1001", b, 1000, 2000);
  b.expiresAtMs = 5000;
  t.restore("1002", b, 1000, 2000);
  CHECK(t.contactCount() == 2);
  CHECK(t.retainOnly({"1001"}) == std::vector<std::string>{"1002"});
  CHECK(t.contactCount() == 1);
}
