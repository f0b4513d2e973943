// RFC 4028 session-timer negotiation (lib/sip/dialog/session_timer.hpp): the
// UAS's answer (§9, 422 per §6), the UAC's offer and 422 retry (§7.1), the
// UAC's reading of the 2xx (§7.2), and the refresh/expiry schedule (§10).
#include <doctest/doctest.h>

#include "sip/dialog/session_timer.hpp"

using namespace sb::sip::dialog;

namespace {
TimerHeaders rq(bool supported, int se, std::optional<Refresher> refresher = std::nullopt, int minSE = 0,
                bool required = false) {
  TimerHeaders h;
  h.supported = supported || required;
  h.required = required;
  h.sessionExpires = se;
  h.refresher = refresher;
  h.minSE = minSE;
  return h;
}
}  // namespace

TEST_CASE("session timer: UAS answers (RFC 4028 section 9)") {
  const TimerPolicy policy{1800, 90};
  struct Row {
    const char* what;
    TimerHeaders request;
    int status, interval;
    bool weRefresh, requireTimer;
    Refresher refresher;
  };
  const Row rows[] = {
      {"UAC supports, asks 90 refresher=uas", rq(true, 90, Refresher::uas), 200, 90, true, false, Refresher::uas},
      {"UAC supports, asks 600 refresher=uac", rq(true, 600, Refresher::uac), 200, 600, false, true, Refresher::uac},
      {"UAC supports, no refresher: we take it", rq(true, 600), 200, 600, true, false, Refresher::uas},
      {"an interval above ours is lowered", rq(true, 7200, Refresher::uac), 200, 1800, false, true, Refresher::uac},
      {"no Session-Expires: ours", rq(true, 0), 200, 1800, true, false, Refresher::uas},
      {"no extension at all: ours, we refresh", rq(false, 0), 200, 1800, true, false, Refresher::uas},
      {"a proxy's Session-Expires for a UAC without it", rq(false, 300, Refresher::uac), 200, 300, true, false,
       Refresher::uas},
      {"a proxy's too small one is raised, not refused", rq(false, 30), 200, 90, true, false, Refresher::uas},
      {"the request's Min-SE is a floor", rq(true, 0, std::nullopt, 3600), 200, 3600, true, false, Refresher::uas},
      {"Require: timer is fine", rq(true, 120, Refresher::uac, 0, true), 200, 120, false, true, Refresher::uac},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    const UasDecision d = answerRequest(r.request, policy);
    CHECK(d.status == r.status);
    CHECK(d.timer.interval == r.interval);
    CHECK(d.timer.weRefresh == r.weRefresh);
    CHECK(d.requireTimer == r.requireTimer);
    CHECK(d.refresher == r.refresher);
  }
}

TEST_CASE("session timer: 422 below our Min-SE, with our Min-SE (RFC 4028 sections 6, 9)") {
  const TimerPolicy policy{1800, 300};
  const UasDecision d = answerRequest(rq(true, 90, Refresher::uas), policy);
  CHECK(d.status == 422);
  CHECK(d.minSE == 300);
  CHECK(answerRequest(rq(true, 300), policy).status == 200);
  CHECK(answerRequest(rq(true, 299), policy).status == 422);
}

TEST_CASE("session timer: disabled (sessionExpires 0)") {
  const TimerPolicy off{0, 90};
  const UasDecision d = answerRequest(rq(true, 90, Refresher::uas), off);
  CHECK(d.status == 200);
  CHECK_FALSE(d.timer.active());
  CHECK(answerRequest(rq(true, 90, Refresher::uac, 0, true), off).status == 420);
  CHECK(offerFor(off).sessionExpires == 0);
  CHECK_FALSE(onUac2xx(rq(true, 90, Refresher::uac), offerFor(off)).active());
}

TEST_CASE("session timer: the UAC's offer and its 422 retry (RFC 4028 section 7.1)") {
  const UacOffer o = offerFor({1800, 90});
  CHECK(o.sessionExpires == 1800);
  CHECK(o.minSE == 90);
  const auto again = retryAfter422(o, 3600);
  REQUIRE(again);
  CHECK(again->sessionExpires == 3600);
  CHECK(again->minSE == 3600);
  const auto lower = retryAfter422(o, 120);
  REQUIRE(lower);
  CHECK(lower->sessionExpires == 1800);
  CHECK(lower->minSE == 120);
  CHECK_FALSE(retryAfter422(o, 90));  // no higher Min-SE: the same 422 again
  CHECK_FALSE(retryAfter422(o, 0));   // a 422 without Min-SE
  CHECK_FALSE(retryAfter422(*again, 3600));
}

TEST_CASE("session timer: the UAC reads the 2xx (RFC 4028 section 7.2)") {
  const UacOffer o{1800, 90};
  struct Row {
    const char* what;
    TimerHeaders response;
    int interval;
    bool weRefresh;
  };
  const Row rows[] = {
      {"refresher=uac is us", rq(true, 600, Refresher::uac), 600, true},
      {"refresher=uas is the phone", rq(true, 600, Refresher::uas), 600, false},
      {"no refresher parameter: us", rq(true, 600), 600, true},
      {"no Session-Expires: the UAS lacks it, we refresh alone", rq(false, 0), 1800, true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    const SessionTimer t = onUac2xx(r.response, o);
    CHECK(t.interval == r.interval);
    CHECK(t.weRefresh == r.weRefresh);
  }
}

TEST_CASE("session timer: refresh at half, expiry at interval - min(32, interval/3) (RFC 4028 section 10)") {
  SessionTimer t{1800, true};
  CHECK(t.refreshInMs() == 900'000);
  CHECK(t.nextInMs() == 900'000);
  t.weRefresh = false;
  CHECK(t.expireInMs() == 1'768'000);  // 32 s before
  CHECK(t.nextInMs() == 1'768'000);
  CHECK(SessionTimer{90, false}.expireInMs() == 60'000);  // a third before
  CHECK(SessionTimer{90, true}.refreshInMs() == 45'000);
  CHECK(SessionTimer{4, false}.expireInMs() == 2'667);
  CHECK_FALSE(SessionTimer{}.active());
}
