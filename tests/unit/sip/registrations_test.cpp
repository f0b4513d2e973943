#include <doctest/doctest.h>

#include <filesystem>

#include "store/registrations.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using namespace sb::store;

TEST_CASE("store: bindings are replaced per extension and reload without the expired ones") {
  char tmpl[] = "/tmp/sbreg-XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  const auto path = (dir / "db.sqlite").string();
  {
    auto s = Store::open(path);
    CHECK(s->schemaVersion() >= 2);
    replaceBindings(*s, {"1001", "1002"},
                    {{"1001", "k1", "sip:a@h", "udp:1.2.3.4:5060", "UA", "cid", 7, 10'000, 1},
                     {"1001", "k2", "sip:b@h", "tcp:1.2.3.4:5061", "", "cid", 7, 500, 1},
                     {"1002", "k1", "sip:c@h", "udp:1.2.3.4:5062", "", "x", 1, 10'000, 1}});
    replaceBindings(*s, {"1002"}, {});
  }
  auto s = Store::open(path);
  const auto rows = loadBindings(*s, 1000);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].extension == "1001");
  CHECK(rows[0].uri == "sip:a@h");
  CHECK(rows[0].source == "udp:1.2.3.4:5060");
  CHECK(rows[0].cseq == 7);
  CHECK(rows[0].expiresAtMs == 10'000);
  fs::remove_all(dir);
}
