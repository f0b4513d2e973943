#pragma once
// The whole configuration schema of spec/interface.md as plain structs.
// Loading (loader.cpp) turns YAML into these and reports every error, not just
// the first; validate.cpp checks the rules that span several keys.
#include <optional>
#include <string>
#include <vector>

#include "config/address.hpp"

namespace sb::config {

struct Sip {
  std::vector<ListenAddr> listen;
  std::string domain;
  // Tests only: 64*T1, the transaction timeout (RFC 3261 §17: Timers B, F, H,
  // J and RFC 3262's PRACK wait), shortened so a test of what happens when it
  // runs out takes seconds; retransmissions keep T1 = 500 ms.
  int testT1x64Ms = 32000;
};

struct Registrar {
  int minExpires = 60;
  int maxExpires = 3600;
  int defaultExpires = 600;
  int maxContacts = 3;
  int keepaliveSeconds = 30;
};

struct Security {
  std::vector<std::string> digestAlgorithms{"SHA-256", "MD5"};
  int maxAuthFailures = 10;
  int banSeconds = 600;
};

struct Control {
  std::string socket;  // absolute after loading
  unsigned mode = 0660;
  std::vector<unsigned> allowedUids;
};

struct Metrics {
  HostPort listen{"127.0.0.1", 9464, false};
};

struct Storage {
  std::string path;  // absolute after loading
  int recordsRetentionDays = 90;  // ended-session records older than this are deleted
};

struct Log {
  std::string level = "info";
};

struct Shutdown {
  int drainSeconds = 10;  // how long live calls may run on after SIGTERM
};

struct Calls {
  int maxMissedOffers = 0;       // missed offers in a row that put an agent in notReady; 0 = never
  int maxSessionSeconds = 14400; // a live call older than this is ended (closeBy timer); 0 = no limit
  int mobileConfirmSeconds = 0;  // a mobile that answers is bridged only after a key within this; 0 = at once
  // RFC 4028 session timers on every leg: the interval asked for or granted
  // (0 = no session timers), the smallest accepted (Min-SE), and the floor of
  // minSE, 90 by RFC 4028 §5: lowered only by tests that must see timers fire.
  int sessionExpires = 1800;
  int minSE = 90;
  int testMinSEFloor = 90;
};

// Calls the agents place (desk phone, Call.startOutboundCall): the toll-fraud
// guard's limits and the numbers it never stands in the way of (docs/CONFIG.md,
// "Dial plan"). The allowed patterns themselves are per trunk, agent and skill group.
struct Outbound {
  int ringTimeout = 60;                 // seconds a customer's phone may ring before we give up
  int maxConcurrentPerExtension = 2;    // live calls an extension places at once; 0 = no limit
  int maxPerMinutePerExtension = 10;    // calls an extension places in any 60 s; 0 = no limit
  // Prefixes a number may start with only when the pattern that allows it spells
  // the prefix out: international access and premium-rate ranges.
  std::vector<std::string> restrictedPrefixes{"+", "00", "011", "1900", "+1900", "1976", "+1976"};
  std::vector<std::string> emergencyNumbers{"112", "911"};  // always allowed, exempt from every limit

  // Whether `number` (as normalizeDialled leaves it) is one of emergencyNumbers.
  bool isEmergency(const std::string& number) const;
};

// Anchored media (docs/CONFIG.md, "Media"). bypass: the SDP passes through and
// the audio flows phone to PBX; anchored: every leg's audio goes through
// seatbridge's own RTP endpoints (lib/media), which the audio features need.
struct Media {
  enum class Mode { bypass, anchored };
  Mode mode = Mode::bypass;
  std::string address;      // advertised in SDP (a NAT's public address); "" = bindAddress
  std::string bindAddress;  // where the RTP sockets are bound; "" = the first sip.listen host
  uint16_t portLow = 20000;  // media.rtpPorts "LOW-HIGH"
  uint16_t portHigh = 29999;
  int rtpTimeoutSeconds = 30;  // a leg that should send and sends nothing for this long ends the call; 0 = never
};

// Call recording (docs/CONFIG.md, "Recording"); needs anchored media.
struct Recording {
  enum class Mode { never, always, onDemand };
  Mode mode = Mode::never;  // always: every answered call from its answer; onDemand: Call.startRecording
  std::string path = "var/recordings";  // the folder of the WAV files (resolved against the config's folder)
  bool stereo = true;       // format stereo (customer left, agent right) or mono (their mix)
  int retentionDays = 0;    // files older than this are deleted; 0 = kept
};

struct Extension {
  std::string id;
  std::string name;
  std::string password;
  std::string ha1;        // MD5(user:realm:password), hex
  std::string ha1Sha256;  // SHA-256(user:realm:password), hex
  std::string locationNumber;  // presented on emergency calls from this phone (its site's number); "" = as any call
};

struct SkillRef {
  std::string id;
  int priority = 3;  // 1 highest .. 5
};

struct Agent {
  std::string userId;
  std::string name;
  std::string extension;  // may be empty: a mobile-only agent
  std::string mobile;
  int useMobileAccept = 0;  // 0 never, 1 when the desk phone is offline, 2 always
  std::vector<SkillRef> skillGroups;
  // Numbers the agent may dial; unset: those of the agent's skill groups together.
  std::optional<std::vector<std::string>> dialPatterns;
  // role: supervisor: may monitor, whisper to, barge into and take over the
  // live sessions of the skill groups in `supervises` (Call.monitor,
  // Call.takeover); an agent (the default) may not.
  bool supervisor = false;
  std::vector<std::string> supervises;
};

struct SkillGroup {
  std::string id;
  std::string name;
  int ringTimeout = 20;
  int queueTimeout = 120;
  int afterCallWork = 10;
  int maxQueueLength = 0;   // customers waiting at once (ringing one included); 0 = no limit
  // The service-level target: a customer answered within this many seconds of
  // arriving counts as answered in target (seatbridge_session_answered_in_target_total).
  // 20 s is the usual "80/20" contact-centre convention.
  int serviceLevelSeconds = 20;
  std::string overflowTo;   // skill group a call goes to when this queue is full; empty: refused (486)
  std::vector<std::string> dialPatterns;   // numbers its agents may dial (Agent::dialPatterns unset)
  std::vector<std::string> callerNumbers;  // presented on its agents' outbound calls, before the trunk's
  std::string holdMusic;  // a WAV (8 kHz) played to its customers on hold with anchored media; "" = the built-in chime
  // A WAV (8 kHz) its customers hear while they wait, as early media (a 183
  // with seatbridge's own SDP answer); "" = ringing (180). Anchored media only.
  std::string queueMusic;
};

struct Number {
  std::string number;
  std::string skillGroup;
};

struct TrunkRegister {
  std::string username;
  std::string password;
  int expires = 600;
};

struct Trunk {
  std::string name;
  HostPort address;
  std::string transport = "udp";
  std::vector<Cidr> inboundFrom;
  std::vector<std::string> callerNumbers;
  std::optional<TrunkRegister> registration;  // absent or with an empty username: none
  int pingSeconds = 30;         // OPTIONS to the trunk this often; 0 = never (its state stays unknown)
  int maxCalls = 0;             // concurrent inbound calls from it; 0 = no limit
  int maxCallsPerSecond = 0;    // new inbound calls from it per second; 0 = no limit
  // Outbound: the numbers it carries (empty: it takes no agent-placed calls but
  // emergency ones), and how the caller is presented to it (RFC 3325, RFC 3323).
  std::vector<std::string> dialPatterns;
  bool assertedIdentity = false;  // P-Asserted-Identity with the caller number
  std::string privacy = "none";   // none | id: anonymous From, Privacy: id (needs assertedIdentity)
};

struct Config {
  std::string file;     // the path it was loaded from
  std::string baseDir;  // relative paths resolve against this
  Sip sip;
  Registrar registrar;
  Security security;
  Control control;
  Metrics metrics;
  Storage storage;
  Log log;
  Shutdown shutdown;
  Calls calls;
  Outbound outbound;
  Media media;
  Recording recording;
  std::vector<Extension> extensions;
  std::vector<Agent> agents;
  std::vector<SkillGroup> skillGroups;
  std::vector<Number> numbers;
  std::vector<Trunk> trunks;

  const Extension* findExtension(const std::string& id) const;
  const Agent* findAgent(const std::string& userId) const;
  const SkillGroup* findSkillGroup(const std::string& id) const;
};

struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based
  int column = 0;  // 1-based
  std::string path;  // key path, e.g. agents[0].skillGroups[1].priority
  std::string message;
  std::string str() const;  // FILE:LINE:COL: key.path: message
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<Diagnostic> errors;
  bool ok() const { return config.has_value(); }
};

LoadResult loadFile(const std::string& path);
// `name` is used in diagnostics; `baseDir` resolves relative paths.
LoadResult loadString(const std::string& text, const std::string& name, const std::string& baseDir);

// Settings that only a restart can change (listen sockets, paths); used by reload.
std::vector<std::string> restartOnlyDifferences(const Config& running, const Config& next);

}  // namespace sb::config
