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

TEST_CASE("bindings: same Call-ID needs a higher CSeq, an equal one is a retransmission") {
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

TEST_CASE("bindings: maxContacts displaces the least recently refreshed, too many in one request is refused") {
  BindingTable t;
  t.apply(upd("a", 1, {c("sip:1@h", 600)}), 0, 2);
  t.apply(upd("b", 1, {c("sip:2@h", 600)}), 1000, 2);
  t.apply(upd("a", 2, {c("sip:1@h", 600)}), 2000, 2);  // 1 refreshed: 2 is now the oldest
  auto r = t.apply(upd("c", 1, {c("sip:3@h", 600)}), 3000, 2);
  REQUIRE(r.displaced.size() == 1);
  CHECK(r.displaced[0].key == "sip:2@h");
  CHECK(r.displaced[0].uri == "sip:2@h");
  CHECK(r.displaced[0].callId == "b");
  CHECK(t.contactCount() == 2);
  r = t.apply(upd("d", 1, {c("sip:4@h", 600), c("sip:5@h", 600), c("sip:6@h", 600)}), 4000, 2);
  CHECK(r.status == UpdateResult::Status::tooManyContacts);
  CHECK(t.contactCount() == 2);
}

TEST_CASE("bindings: keepalive misses make a contact unreachable, an answer brings it back") {
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
  for (int64_t ms = 5000; ms <= 300'000; ms += 1000) t.dueProbes(ms, 1000, 3, ch);  // misses go on: no new fact
  CHECK(ch.size() == 1);
  CHECK_FALSE(t.answered("1002", p[0].id));  // another extension's binding of that id: none
  CHECK_FALSE(t.answered("1001", 999));
  auto back = t.answered("1001", p[0].id);
  REQUIRE(back);
  CHECK(back->reachable);
  CHECK(back->extension == "1001");
  CHECK(back->uri == "sip:x@h");
  CHECK_FALSE(t.answered("1001", p[0].id));  // already reachable: no second fact
  CHECK(t.list("1001", 300'000).at(0).missed == 0);
  // Three misses again make it unreachable again.
  for (int64_t ms = 301'000; ms <= 304'000; ms += 1000) t.dueProbes(ms, 1000, 3, ch);
  CHECK(ch.size() == 2);
}

TEST_CASE("bindings: a keepalive's Call-ID tag carries the binding id and the extension") {
  CHECK(keepaliveTag(42, "1001") == "42-1001");
  auto p = parseKeepaliveTag("42-1001");
  REQUIRE(p);
  CHECK(p->first == "1001");
  CHECK(p->second == 42u);
  // Characters a user part may hold but a Call-ID word may not (RFC 3261 §25.1).
  const std::string odd = "a&b=c$d,e;f?g/h-i%";
  const std::string tag = keepaliveTag(18'446'744'073'709'551'615u, odd);
  CHECK(tag.find_first_of("&=$,;?/") == std::string::npos);
  p = parseKeepaliveTag(tag);
  REQUIRE(p);
  CHECK(p->first == odd);
  CHECK(p->second == 18'446'744'073'709'551'615u);
  for (const char* bad :
       {"", "42", "42-", "-1001", "x-1001", "42x-1001", "42-10%3", "42-10%zz", "99999999999999999999-1"})
    CHECK_FALSE(parseKeepaliveTag(bad));
}

TEST_CASE("bindings: every text of a binding comes back as given, the key apart from the URI") {
  BindingTable t;
  BindingUpdate u = upd("call-1@pc", 7, {{"sip:1001@192.0.2.7:5060", "sip:1001@192.0.2.7:5060;line=abc", 60}});
  u.userAgent = "Yealink SIP-T46S 66.86.0.15";
  t.apply(u, 0, 3);
  u.contacts = {c("sip:1001@192.0.2.8:5060", 60)};  // key and URI alike
  u.callId = "call-2@pc";
  u.cseq = 1;
  u.userAgent.clear();
  t.apply(u, 1000, 3);
  auto l = t.list("1001", 1000);
  REQUIRE(l.size() == 2);
  CHECK(l[0].key == "sip:1001@192.0.2.7:5060");
  CHECK(l[0].uri == "sip:1001@192.0.2.7:5060;line=abc");
  CHECK(l[0].source == "udp:1.1.1.1:5060");
  CHECK(l[0].userAgent == "Yealink SIP-T46S 66.86.0.15");
  CHECK(l[0].callId == "call-1@pc");
  CHECK(l[0].cseq == 7);
  CHECK(l[0].expiresAtMs == 60'000);
  CHECK(l[0].updatedAtMs == 0);
  CHECK(l[1].key == "sip:1001@192.0.2.8:5060");
  CHECK(l[1].uri == "sip:1001@192.0.2.8:5060");
  CHECK(l[1].userAgent.empty());
  CHECK(l[1].callId == "call-2@pc");
  CHECK(l[1].cseq == 1);
  CHECK(l[1].updatedAtMs == 1000);
  CHECK(l[0].id != l[1].id);
  const uint64_t firstId = l[0].id;

  // A refresh from elsewhere, under another Call-ID and User-Agent, keeps the id
  // and replaces every text; the phone moved, so it is judged reachable afresh.
  std::vector<ReachabilityChange> ch;
  for (int64_t ms = 1000; ms <= 5000; ms += 1000) t.dueProbes(ms, 1000, 3, ch);
  REQUIRE(ch.size() == 2);
  CHECK_FALSE(t.list("1001", 5000).at(0).reachable);
  BindingUpdate moved = upd("call-3@pc", 1, {{"sip:1001@192.0.2.7:5060", "sip:1001@192.0.2.7:5060;line=def", 120}},
                            "udp:198.51.100.4:1024");
  moved.userAgent = "Yealink SIP-T46S 66.86.0.16";
  t.apply(moved, 6000, 3);
  l = t.list("1001", 6000);
  REQUIRE(l.size() == 2);
  CHECK(l[0].id == firstId);
  CHECK(l[0].key == "sip:1001@192.0.2.7:5060");
  CHECK(l[0].uri == "sip:1001@192.0.2.7:5060;line=def");
  CHECK(l[0].source == "udp:198.51.100.4:1024");
  CHECK(l[0].userAgent == "Yealink SIP-T46S 66.86.0.16");
  CHECK(l[0].callId == "call-3@pc");
  CHECK(l[0].reachable);
  CHECK_FALSE(l[0].awaiting);
  CHECK(l[0].missed == 0);
  CHECK(l[1].uri == "sip:1001@192.0.2.8:5060");
}

TEST_CASE("bindings: phones sharing a User-Agent, and one that changes it, each keep their own") {
  BindingTable t;
  for (int i = 0; i < 3; ++i) {
    BindingUpdate u = upd("c" + std::to_string(i), 1, {c("sip:p" + std::to_string(i) + "@h", 60)});
    u.extension = std::to_string(1000 + i);
    u.userAgent = "Model A";
    t.apply(u, 0, 3);
  }
  BindingUpdate u = upd("c1", 2, {c("sip:p1@h", 60)});
  u.extension = "1001";
  u.userAgent = "Model B";
  t.apply(u, 0, 3);
  CHECK(t.list("1000", 0).at(0).userAgent == "Model A");
  CHECK(t.list("1001", 0).at(0).userAgent == "Model B");
  CHECK(t.list("1002", 0).at(0).userAgent == "Model A");
  t.expire(0);  // drops no binding, and no User-Agent still held
  CHECK(t.list("1000", 0).at(0).userAgent == "Model A");
  CHECK(t.list("1001", 0).at(0).userAgent == "Model B");
  t.expire(60'000);
  CHECK(t.contactCount() == 0);
  u.cseq = 3;
  t.apply(u, 60'000, 3);
  CHECK(t.list("1001", 60'000).at(0).userAgent == "Model B");
}

TEST_CASE("bindings: restore keeps every persisted field, starts reachable, and probes at the time given") {
  BindingTable t;
  Binding b;
  b.key = "sip:1001@192.0.2.7:5060";
  b.uri = "sip:1001@192.0.2.7:5060;line=abc";
  b.source = "udp:192.0.2.7:5060";
  b.userAgent = "Yealink SIP-T46S 66.86.0.15";
  b.callId = "call-1@pc";
  b.cseq = 9;
  b.expiresAtMs = 50'000;
  b.updatedAtMs = 900;
  b.reachable = false;
  b.missed = 2;
  t.restore("1001", b, 1000, 2000);
  auto l = t.list("1001", 1000);
  REQUIRE(l.size() == 1);
  CHECK(l[0].key == b.key);
  CHECK(l[0].uri == b.uri);
  CHECK(l[0].source == b.source);
  CHECK(l[0].userAgent == b.userAgent);
  CHECK(l[0].callId == b.callId);
  CHECK(l[0].cseq == 9);
  CHECK(l[0].expiresAtMs == 50'000);
  CHECK(l[0].updatedAtMs == 900);
  CHECK(l[0].reachable);
  CHECK(l[0].missed == 0);
  CHECK(l[0].nextProbeMs == 2000);
  std::vector<ReachabilityChange> ch;
  CHECK(t.dueProbes(1999, 30'000, 3, ch).empty());
  const auto p = t.dueProbes(2000, 30'000, 3, ch);
  REQUIRE(p.size() == 1);
  CHECK(p[0].extension == "1001");
  CHECK(p[0].uri == b.uri);
  CHECK(p[0].source == b.source);
  // The same request again (§10.3 step 7: same Call-ID and CSeq) changes nothing.
  BindingUpdate again = upd("call-1@pc", 9, {{b.key, b.uri, 60}}, b.source);
  auto r = t.apply(again, 3000, 3);
  CHECK_FALSE(r.changed);
  CHECK(t.list("1001", 3000).at(0).expiresAtMs == 50'000);
  CHECK(t.takeDirty().empty());  // restored bindings are already stored
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
