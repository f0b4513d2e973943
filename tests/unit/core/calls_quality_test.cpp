// Call quality in core (docs/CORE.md, "Call quality"): each leg's latest
// figures on its session, the final ones after the end updating the ended
// session and asking for its record to be written again.
#include <doctest/doctest.h>

#include "calls_fixture.hpp"

using namespace sb::core;
using namespace sb::core::test::calls;

namespace {

using Answered = AnsweredCall;

}  // namespace

TEST_CASE("core quality: each leg's latest figures on the session; the final ones after the end") {
  Answered f;
  CHECK_FALSE(f.session().contains("quality"));  // nothing measured yet
  CHECK(f.fact(LegQuality{f.customer, 4.39, 1.25, 0, -1, false}).empty());
  json q = f.session()["quality"];
  CHECK(q["customer"]["mos"] == 4.39);
  CHECK(q["customer"]["jitterMs"] == doctest::Approx(1.3));
  CHECK(q["customer"]["lossPercent"] == 0);
  CHECK(q["customer"]["rttMs"].is_null());  // not measured
  CHECK_FALSE(q.contains("agent"));
  f.fact(LegQuality{f.alice, 4.2, 3, 1.5, 12.34, false});
  CHECK(f.session()["quality"]["agent"]["rttMs"] == doctest::Approx(12.3));

  // The customer hangs up; the endpoints' final reports come after the end.
  f.fact(LegEnded{f.customer, 0});
  CHECK(f.session()["state"] == "ended");
  Outputs late = f.fact(LegQuality{f.customer, 3.36, 2, 10, 1, true});
  REQUIRE(late.only<UpdateRecord>().size() == 1);
  CHECK(late.only<UpdateRecord>()[0].sessionId == f.sid);
  CHECK(late.events().empty());
  CHECK(f.session()["quality"]["customer"]["lossPercent"] == 10);
  CHECK(f.fact(LegQuality{f.alice, 4.4, 0.5, 0, 1, true}).only<UpdateRecord>().size() == 1);
  CHECK(f.session()["quality"]["agent"]["mos"] == 4.4);
  // A leg's final word is its last: anything after it, or about a leg core
  // never had, changes nothing.
  CHECK(f.fact(LegQuality{f.customer, 1, 0, 50, 1, true}).empty());
  CHECK(f.session()["quality"]["customer"]["lossPercent"] == 10);
  CHECK(f.fact(LegQuality{987654, 1, 0, 50, 1, true}).empty());
}
