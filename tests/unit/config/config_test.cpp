#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"

using namespace sb::config;

namespace {
std::string demoPath() { return std::string(SEATBRIDGE_FIXTURES) + "/../../config/seatbridge.yaml"; }
}  // namespace

TEST_CASE("the demo configuration loads into typed structs") {
  const auto r = loadFile(demoPath());
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  const Config& c = *r.config;
  CHECK(c.sip.domain == "seatbridge.local");
  REQUIRE(c.sip.listen.size() == 2);
  CHECK(c.sip.listen[1].transport == "tcp");
  CHECK(c.registrar.maxContacts == 3);
  CHECK(c.security.digestAlgorithms == std::vector<std::string>{"SHA-256", "MD5"});
  CHECK(c.control.mode == 0660);
  CHECK(c.control.socket.front() == '/');  // resolved against the file's folder
  CHECK(c.storage.path.front() == '/');
  REQUIRE(c.findAgent("alice@example.com"));
  CHECK(c.findAgent("alice@example.com")->skillGroups[0].priority == 1);
  CHECK(c.findAgent("alice@example.com")->useMobileAccept == 1);
  REQUIRE(c.findSkillGroup("support"));
  CHECK(c.findSkillGroup("support")->afterCallWork == 30);
  REQUIRE(c.trunks.size() == 1);
  CHECK(c.trunks[0].inboundFrom[0].contains(*parseIp("127.0.0.2")));
  CHECK_FALSE(c.trunks[0].registration);  // empty username: no outbound registration
}

TEST_CASE("defaults apply when optional sections are absent") {
  const auto r = loadString(
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n",
      "mini.yaml", "/srv");
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  CHECK(r.config->registrar.minExpires == 60);
  CHECK(r.config->security.maxAuthFailures == 10);
  CHECK(r.config->metrics.listen.str() == "127.0.0.1:9464");
  CHECK(r.config->control.socket == "/srv/run/s.sock");
  CHECK(r.config->log.level == "info");
}

TEST_CASE("every error is reported, each with its location") {
  const auto r = loadString(
      "sip: {listen: ['udp:127.0.0.1:99999'], domain: example.test}\n"
      "control: {socket: s.sock, bogus: 1}\n"
      "storage: {path: s.db}\n"
      "registrar: {minExpires: 600, maxExpires: 60}\n",
      "bad.yaml", "/tmp");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].str().rfind("bad.yaml:1:16: sip.listen[0]: ", 0) == 0);
  CHECK(r.errors[1].str().rfind("bad.yaml:2:27: control.bogus: unknown key", 0) == 0);
  CHECK(r.errors[2].path == "registrar.minExpires");
  CHECK(r.errors[2].line == 4);
}

TEST_CASE("a reload that changes listen addresses is flagged as restart-only") {
  auto a = loadFile(demoPath());
  auto b = loadFile(demoPath());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(restartOnlyDifferences(*a.config, *b.config).empty());
  b.config->sip.listen[0].where.port = 5099;
  b.config->storage.path = "/elsewhere.db";
  CHECK(restartOnlyDifferences(*a.config, *b.config) == std::vector<std::string>{"sip.listen", "storage.path"});
}

TEST_CASE("allowedUids is restart-only, while domain, log level and registrar limits reload") {
  auto a = loadFile(demoPath());
  auto b = loadFile(demoPath());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  b.config->control.allowedUids = {1000};
  CHECK(restartOnlyDifferences(*a.config, *b.config) == std::vector<std::string>{"control.allowedUids"});
  b.config->control.allowedUids = a.config->control.allowedUids;
  b.config->sip.domain = "other.example";  // the registrar applies a new realm on reload
  b.config->log.level = "debug";
  b.config->registrar.maxContacts = 1;
  CHECK(restartOnlyDifferences(*a.config, *b.config).empty());
}

TEST_CASE("media: bypass by default, bound where SIP listens; anchored with its ports and timeout") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n";
  auto r = loadString(base, "m.yaml", "/srv");
  REQUIRE(r.ok());
  CHECK(r.config->media.mode == Media::Mode::bypass);
  CHECK(r.config->media.bindAddress == "127.0.0.1");
  CHECK(r.config->media.address == "127.0.0.1");
  CHECK(r.config->media.portLow == 20000);
  CHECK(r.config->media.rtpTimeoutSeconds == 30);
  r = loadString(base + "media: {mode: anchored, address: 203.0.113.7, rtpPorts: 30000-30999, rtpTimeoutSeconds: 5}\n",
                 "m.yaml", "/srv");
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  CHECK(r.config->media.mode == Media::Mode::anchored);
  CHECK(r.config->media.address == "203.0.113.7");  // advertised (a NAT's public address)
  CHECK(r.config->media.bindAddress == "127.0.0.1");
  CHECK((r.config->media.portLow == 30000 && r.config->media.portHigh == 30999));
  CHECK(r.config->media.rtpTimeoutSeconds == 5);
}

TEST_CASE("media: each mistake located") {
  const std::string base =
      "sip: {listen: ['udp:0.0.0.0:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n";
  auto r = loadString(base + "media: {mode: relay, address: rtp.example.test, rtpPorts: 30000-20000}\n", "m.yaml", "/srv");
  REQUIRE_FALSE(r.ok());
  std::vector<std::string> paths;
  for (const auto& e : r.errors) paths.push_back(e.path);
  CHECK(paths == std::vector<std::string>{"media.mode", "media.address", "media.rtpPorts"});
  CHECK(r.errors[0].line == 4);
  // Bound to every address, anchored media needs to be told which one to advertise.
  r = loadString(base + "media: {mode: anchored}\n", "m.yaml", "/srv");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].path == "media.address");
}

TEST_CASE("recording: never by default; its folder resolved; it needs anchored media; mistakes located") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n";
  auto r = loadString(base, "m.yaml", "/srv");
  REQUIRE(r.ok());
  CHECK(r.config->recording.mode == Recording::Mode::never);
  CHECK(r.config->recording.path == "/srv/var/recordings");
  r = loadString(base + "media: {mode: anchored}\nrecording: {mode: onDemand, path: rec, format: mono, retentionDays: 30}\n",
                 "m.yaml", "/srv");
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  CHECK(r.config->recording.mode == Recording::Mode::onDemand);
  CHECK(r.config->recording.path == "/srv/rec");
  CHECK_FALSE(r.config->recording.stereo);
  CHECK(r.config->recording.retentionDays == 30);
  r = loadString(base + "recording: {mode: always}\n", "m.yaml", "/srv");  // bypass: no audio to record
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].path == "recording.mode");
  r = loadString(base + "media: {mode: anchored}\nrecording: {mode: sometimes, format: 5.1, retentionDays: -1}\n", "m.yaml", "/srv");
  std::vector<std::string> paths;
  for (const auto& e : r.errors) paths.push_back(e.path);
  CHECK(paths == std::vector<std::string>{"recording.mode", "recording.format", "recording.retentionDays"});
}

TEST_CASE("agents' role and supervises: a supervisor of known skill groups, with anchored media") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n"
      "extensions: [{id: '1001', password: pw}]\n"
      "skillGroups: [{id: sales}]\n";
  auto r = loadString(base + "media: {mode: anchored}\n"
                             "agents: [{userId: sue, extension: '1001', role: supervisor, supervises: [sales]}]\n",
                      "m.yaml", "/srv");
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  CHECK(r.config->agents[0].supervisor);
  CHECK(r.config->agents[0].supervises == std::vector<std::string>{"sales"});
  const auto errorPaths = [&](const std::string& yaml) {
    std::vector<std::string> paths;
    for (const auto& e : loadString(base + yaml, "m.yaml", "/srv").errors) paths.push_back(e.path);
    return paths;
  };
  CHECK(errorPaths("media: {mode: anchored}\nagents: [{userId: a, extension: '1001', role: boss}]\n") ==
        std::vector<std::string>{"agents[0].role"});
  CHECK(errorPaths("media: {mode: anchored}\nagents: [{userId: a, extension: '1001', supervises: [sales]}]\n") ==
        std::vector<std::string>{"agents[0].supervises"});
  CHECK(errorPaths("media: {mode: anchored}\nagents: [{userId: a, extension: '1001', role: supervisor, "
                   "supervises: [support]}]\n") == std::vector<std::string>{"agents[0].supervises"});
  CHECK(errorPaths("agents: [{userId: a, extension: '1001', role: supervisor, supervises: [sales]}]\n") ==
        std::vector<std::string>{"agents[0].role"});  // bypass: no audio to mix
}

TEST_CASE("skillGroups[].holdMusic: resolved against the file's folder, and it must exist") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n"
      "skillGroups:\n"
      "  - {id: sales, holdMusic: music/none.wav}\n";
  auto r = loadString(base, "h.yaml", "/nonexistent-dir");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].path == "skillGroups[0].holdMusic");
  CHECK(r.errors[0].message == "no such file: /nonexistent-dir/music/none.wav");
  CHECK(r.errors[0].line == 5);
}

TEST_CASE("skillGroups[].queueMusic: a file that exists, and only with anchored media") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n";
  auto missing = loadString(base + "media: {mode: anchored}\nskillGroups:\n  - {id: sales, queueMusic: q.wav}\n", "q.yaml",
                            "/nonexistent-dir");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.errors[0].path == "skillGroups[0].queueMusic");
  CHECK(missing.errors[0].message == "no such file: /nonexistent-dir/q.wav");
  // A file that exists, relative to the configuration's folder.
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sb-q-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "q.wav") << "RIFF";
  auto bypass = loadString(base + "skillGroups:\n  - {id: sales, queueMusic: q.wav}\n", "q.yaml", dir.string());
  REQUIRE_FALSE(bypass.ok());
  CHECK(bypass.errors[0].path == "skillGroups[0].queueMusic");
  CHECK(bypass.errors[0].message.find("media.mode anchored") != std::string::npos);
  auto fine = loadString(base + "media: {mode: anchored}\nskillGroups:\n  - {id: sales, queueMusic: q.wav}\n", "q.yaml",
                         dir.string());
  std::filesystem::remove_all(dir);
  REQUIRE(fine.ok());
  CHECK(fine.config->skillGroups[0].queueMusic == (dir / "q.wav").string());
}

TEST_CASE("skillGroups[].serviceLevelSeconds: 20 by default, 1..3600, and a reload takes it") {
  const std::string base =
      "sip: {listen: ['udp:127.0.0.1:5060'], domain: example.test}\n"
      "control: {socket: run/s.sock}\n"
      "storage: {path: var/s.db}\n"
      "skillGroups:\n";
  auto r = loadString(base + "  - {id: sales}\n  - {id: support, serviceLevelSeconds: 45}\n", "s.yaml", "/srv");
  for (const auto& e : r.errors) INFO(e.str());
  REQUIRE(r.ok());
  CHECK(r.config->findSkillGroup("sales")->serviceLevelSeconds == 20);
  CHECK(r.config->findSkillGroup("support")->serviceLevelSeconds == 45);
  for (const char* bad : {"0", "3601", "-5"}) {
    auto b = loadString(base + "  - {id: sales, serviceLevelSeconds: " + bad + "}\n", "s.yaml", "/srv");
    REQUIRE_FALSE(b.ok());
    REQUIRE(b.errors.size() == 1);
    CHECK(b.errors[0].str() == std::string("s.yaml:5:38: skillGroups[0].serviceLevelSeconds: ") + bad +
                                   " is outside 1..3600");
  }
  auto word = loadString(base + "  - {id: sales, serviceLevelSeconds: soon}\n", "s.yaml", "/srv");
  REQUIRE_FALSE(word.ok());
  CHECK(word.errors[0].message == "expected an integer, got 'soon'");
  // Not restart-only: a reload swaps the new target in.
  auto next = loadString(base + "  - {id: sales, serviceLevelSeconds: 30}\n  - {id: support}\n", "s.yaml", "/srv");
  REQUIRE(next.ok());
  CHECK(restartOnlyDifferences(*r.config, *next.config).empty());
}
