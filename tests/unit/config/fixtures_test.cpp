// Table-driven tests over tests/fixtures/config: every NAME.yaml is loaded and its
// diagnostics must match NAME.expect exactly in count, order, line, column and key
// path; the message by substring. The format is described in that folder's README.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"

using namespace sb::config;
namespace fs = std::filesystem;

namespace {

struct Expected {
  int line = 0;
  int column = 0;
  std::string path;  // empty for a diagnostic about no key ('-' in the file)
  std::string message;
  int sourceLine = 0;  // line of the .expect file, for failure messages
};

fs::path fixtureDir() { return fs::path(SEATBRIDGE_FIXTURES) / "config"; }

// One "LINE:COL: PATH: MESSAGE-SUBSTRING" per line; '#' comments and blank lines skipped.
std::vector<Expected> readExpect(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE_MESSAGE(in, "cannot read " << file.string());
  std::vector<Expected> out;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    if (text.empty() || text[0] == '#') continue;
    Expected e;
    e.sourceLine = n;
    char colon1 = 0, colon2 = 0;
    std::istringstream ls(text);
    ls >> e.line >> colon1 >> e.column >> colon2;
    const auto sep = text.find(": ");
    const auto sep2 = sep == std::string::npos ? sep : text.find(": ", sep + 2);
    REQUIRE_MESSAGE((ls && colon1 == ':' && colon2 == ':' && sep2 != std::string::npos),
                    file.filename().string() << ":" << n << ": expected LINE:COL: PATH: MESSAGE, got '" << text << "'");
    e.path = text.substr(sep + 2, sep2 - sep - 2);
    if (e.path == "-") e.path.clear();
    e.message = text.substr(sep2 + 2);
    REQUIRE_MESSAGE(!e.message.empty(), file.filename().string() << ":" << n << ": empty message substring");
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<fs::path> fixtures(const char* extension) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fixtureDir()))
    if (entry.path().extension() == extension) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string dump(const std::vector<Diagnostic>& errors) {
  std::string s;
  for (const auto& e : errors) s += "  " + e.str() + "\n";
  return s.empty() ? "  (none)\n" : s;
}

void checkFixture(const fs::path& yaml) {
  fs::path expectFile = yaml;
  expectFile.replace_extension(".expect");
  const auto expected = readExpect(expectFile);
  const auto result = loadFile(yaml.string());
  const std::string name = yaml.filename().string();
  INFO(name << " reported:\n" << dump(result.errors));
  REQUIRE(result.errors.size() == expected.size());
  CHECK(result.ok() == expected.empty());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Diagnostic& got = result.errors[i];
    const Expected& want = expected[i];
    INFO("diagnostic " << i << " against " << expectFile.filename().string() << ":" << want.sourceLine);
    CHECK(got.file == yaml.string());
    CHECK(got.line == want.line);
    CHECK(got.column == want.column);
    CHECK(got.path == want.path);
    CHECK_MESSAGE(got.message.find(want.message) != std::string::npos,
                  "message '" << got.message << "' lacks '" << want.message << "'");
  }
}

}  // namespace

TEST_CASE("every config fixture reports exactly the diagnostics in its .expect file") {
  const auto files = fixtures(".yaml");
  REQUIRE(!files.empty());
  for (const auto& yaml : files) {
    SUBCASE(yaml.filename().string().c_str()) { checkFixture(yaml); }
  }
}

TEST_CASE("the fixture folder pairs every .yaml with an .expect and covers each error class") {
  std::set<std::string> yamls, expects;
  for (const auto& p : fixtures(".yaml")) yamls.insert(p.stem().string());
  for (const auto& p : fixtures(".expect")) expects.insert(p.stem().string());
  CHECK(yamls == expects);
  // The classes issue 2 names, plus the loader's other checks: removing one of
  // these files must fail here rather than silently shrink the coverage.
  for (const char* required :
       {"valid-minimal", "valid-full", "unknown-keys", "wrong-types", "missing-required", "missing-sections",
        "duplicate-extension-id", "duplicate-user-id", "unknown-extension", "unknown-skill-group", "bad-listen",
        "bad-metrics", "bad-trunk-address", "bad-cidr", "priority-range", "expires-order", "password-twice",
        "yaml-syntax", "several-errors", "log-level", "control-mode", "use-mobile-accept", "bad-ha1",
        "digest-algorithms"}) {
    CAPTURE(required);
    CHECK(yamls.count(required) == 1);
  }
}
