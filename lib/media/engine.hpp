#pragma once
// The media engine (docs/MEDIA.md, "Anchored media"): seatbridge's own
// RTP endpoints, one per call leg, on a thread of their own so that audio never
// waits for signalling and signalling never waits for audio.
//
// The SIP thread drives it: endpoint() opens a leg's sockets (synchronously,
// so the port can go into the SDP being written), remote() passes on what the
// leg's SDP says, pair() makes two legs talk, close() ends a leg. Everything
// but endpoint() is posted to the media thread, in order; nothing here blocks
// the SIP thread on the media thread.
//
// The media thread relays packets without decoding them (the relay path):
// what a leg's phone sends to its endpoint goes out of the paired leg's
// endpoint to that leg's far end, under the StreamRewriter that keeps each
// outgoing stream one continuous RTP stream (RFC 3550 §5.1, §8). RTCP, on
// port + 1 (RFC 3550 §11), is not relayed: each endpoint terminates it with
// its leg (rtcp.hpp). It reports facts back through `Report`, called on the
// media thread.
#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "common/loop_thread.hpp"
#include "media/clip.hpp"
#include "media/port_pool.hpp"
#include "media/recorder.hpp"

struct event;

namespace sb::media {

using LegId = uint64_t;
struct RtpHeader;
// G.711 laws a leg accepts (MediaEngine::remote's `laws`), as bits.
inline constexpr uint8_t kPcmu = 1, kPcma = 2;

struct EngineConfig {
  std::string bindAddress = "127.0.0.1";  // where the sockets are bound
  uint16_t portLow = 20000, portHigh = 29999;
  // A leg that should be sending (its SDP says sendrecv or sendonly, and it is
  // paired) and has sent nothing for this long is reported (StreamTimedOut).
  int rtpTimeoutSeconds = 30;
  // Symmetric RTP (RFC 4961) for phones behind NAT: a leg's packets go back to
  // where its packets come from, not to its SDP's address, once latched. The
  // first packet from the signalled address latches at once; one from
  // anywhere else only within this window after the leg's SDP was learnt,
  // and then it sticks: a stranger spraying packets later (RTP bleed) is
  // dropped and counted.
  int latchWindowMs = 3000;
  RecorderFolder recordings;  // recording.path, recording.retentionDays
};

// Facts for the SIP side.
struct StreamTimedOut {
  LegId leg = 0;
};
// A key pressed on a leg, as an RFC 4733 telephone-event in its RTP (reported
// once per event, its first packet) or, on a leg whose session negotiated no
// telephone-event, as a tone pair in its G.711 audio (InbandDtmf). `digit`
// is one of 0-9 * # A-D.
struct DigitReceived {
  LegId leg = 0;
  char digit = 0;
};
// A recording that could not go on (its file could not be opened or written,
// or the leg's codec is not one seatbridge decodes); the call is untouched.
struct RecordingFailed {
  LegId leg = 0;
  std::string reason;
};
// A leg's call quality from RTCP (lib/media/rtcp.hpp, LegRtcp::quality):
// the worse of its two directions, rttMs -1 when not measured. Sent at most
// every 5 s while something new is measured, and once more, `final`, when
// its endpoint closes.
struct QualityReport {
  LegId leg = 0;
  double mos = 0, jitterMs = 0, lossPercent = 0, rttMs = -1;
  bool final = false;
};
using MediaFact = std::variant<StreamTimedOut, DigitReceived, RecordingFailed, QualityReport>;

// One entry of a row of a call's gain matrix (mix()): a leg whose audio is
// heard, and how loud (1: as sent).
struct MixSource {
  LegId leg = 0;
  float gain = 1.0f;
};

// Counters, read from any thread (relaxed atomics).
struct EngineCounters {
  uint64_t packetsRelayed = 0;
  uint64_t packetsDropped = 0;   // not RTP, from a stranger, or with nowhere to go
  uint64_t strangerPackets = 0;  // of those: from an address the leg is not latched to
  uint64_t streamTimeouts = 0;
  uint64_t recordingBytes = 0;     // written to recordings' files
  uint64_t recordingDrops = 0;     // blocks of recorded audio lost (a disk too slow, a file failed)
  uint64_t recordingFailures = 0;  // recordings that could not go on (RecordingFailed)
  uint64_t packetsTranscoded = 0;  // of those relayed: PCMU to PCMA or back
  uint64_t inbandDigits = 0;       // keys found as tones in a leg's audio (InbandDtmf)
};

// What is open now (for the metrics' gauges).
struct EngineGauges {
  size_t endpoints = 0;
  size_t recordings = 0;
  size_t mixing = 0;  // legs hearing a mix (a supervisor, an agent whispered to, a customer barged in on)
};

class MediaEngine {
 public:
  using Report = std::function<void(const MediaFact&)>;
  // Once a second on the media thread: the counters' growth since the last
  // call and the endpoints open (for the metrics).
  using Stats = std::function<void(const EngineCounters& delta, const EngineGauges& open)>;
  MediaEngine(EngineConfig config, Report report, Stats stats = {});
  ~MediaEngine();
  MediaEngine(const MediaEngine&) = delete;
  MediaEngine& operator=(const MediaEngine&) = delete;

  void start();
  void stop();

  // SIP thread. The leg's local RTP port, its sockets opened on first use;
  // nullopt when media.rtpPorts is exhausted.
  std::optional<uint16_t> endpoint(LegId leg);
  // SIP thread. What the leg's latest SDP says: where it receives RTP (RTCP
  // at port + 1 unless `rtcpPort`), and whether it sends (sendrecv, sendonly).
  // `dtmfPayloadType`: its telephone-event payload type (RFC 4733), -1 for none.
  // `laws`: the G.711 laws its SDP lists (kPcmu | kPcma), 0 for neither: the
  // other law is transcoded towards it (PCMU on one leg, PCMA on the other).
  void remote(LegId leg, const sockaddr_in& rtp, uint16_t rtcpPort, bool sending, int dtmfPayloadType = -1,
              uint8_t laws = 0);
  // SIP thread. What the leg sends reaches its peer as silence (Call.muteMic),
  // in the same packets, so the stream's timing is untouched: PCMU and PCMA
  // payloads are overwritten with their silence value; telephone-events pass
  // (the agent may still key an IVR); anything else (a codec whose silence we
  // cannot write without decoding) is dropped while muted.
  void mute(LegId leg, bool muted);
  // SIP thread. RFC 4733 telephone-events for `digits` (0-9 * # A-D) in the
  // stream towards the leg, with the payload type its SDP gave, one after the
  // other: each 160 ms long in updates 50 ms apart, its end sent three times
  // (§2.5.1.4), 100 ms between digits. The other party's audio to the leg
  // pauses meanwhile. False when the leg negotiated no telephone-event.
  bool sendDigits(LegId leg, const std::string& digits);
  // SIP thread. Hold music: `file` (a WAV of 8 kHz; "" or one that cannot be
  // played: the built-in chime, Clip::chime) looped into the stream towards
  // the leg, 20 ms a packet, in the codec the leg has been getting (PCMU or
  // PCMA), under the leg's own SSRC and numbering; the other party's audio to
  // it is held back until stop(). Files are read once and kept.
  void play(LegId leg, const std::string& file);
  void stopPlaying(LegId leg);
  // SIP thread. Recording (docs/MEDIA.md, "Recording"): what the leg
  // sends (channel 0, left) and what it is sent by whoever it is paired with
  // (channel 1, right; a transfer's new peer included), as PCM WAV at `path`,
  // stereo or their mono mix, 20 ms at a time on the engine's frame clock.
  // record() on a leg already recording changes nothing; on one stopped
  // before, it appends to `path`. While paused nothing is kept.
  void record(LegId leg, const std::string& path, bool stereo);
  void pauseRecording(LegId leg, bool paused);
  void stopRecording(LegId leg);
  // SIP thread. Mixing (docs/MEDIA.md, "Mixing"): what `listener`
  // hears from now on instead of the leg it is paired with: the sum of
  // `sources`' audio, each decoded (G.711), scaled by its gain and saturated,
  // encoded in the codec the listener uses, 20 ms a packet on the engine's
  // frame clock, under the listener's own SSRC and numbering. A call's gain
  // matrix is one such row per listener: a supervisor listening in is a row
  // {customer, agent} on their leg; whispering adds a row {customer,
  // supervisor} on the agent's; barging, one {agent, supervisor} on the
  // customer's. Empty `sources`: back to the relay from the paired leg.
  // Hold music and telephone-events towards the listener still take its
  // stream over while they last.
  void mix(LegId listener, std::vector<MixSource> sources);
  // SIP thread. From now on a's packets go to b's far end and b's to a's.
  void pair(LegId a, LegId b);
  // SIP thread. The leg's endpoint is closed and its port given back.
  void close(LegId leg);

  size_t openEndpoints() const;  // SIP thread: legs with an endpoint
  EngineCounters counters() const;
  // Media thread, for tests: runs `fn` there and waits for it.
  void sync(std::function<void()> fn);

  struct Endpoint;  // media thread only (engine.cpp)

 private:
  static void onPacket(int fd, short, void* arg) noexcept;
  static void onTick(int, short, void* arg) noexcept;
  static void onDigitTimer(int, short, void* arg) noexcept;
  static void onPlayTimer(int, short, void* arg) noexcept;
  static void onFrameTimer(int, short, void* arg) noexcept;
  struct Recording;
  struct MixInput;
  void recordFrames();
  void mixFrames();
  void setMixRow(Endpoint& listener, std::vector<MixSource> sources);
  void frameClock();  // runs the frame clock while anything needs it
  void tap(Endpoint& from, Endpoint* to, const uint8_t* packet, const RtpHeader& h);
  void endRecording(Endpoint& e);
  void playFrame(Endpoint& e);
  void sendOwn(Endpoint& e, uint8_t* packet, size_t size, int64_t nowUs);
  void sendFrame(Endpoint& e, const int16_t* frame, uint16_t& seq, uint32_t& ts, uint32_t ssrc);
  void nextDigitPacket(Endpoint& e);
  void receive(Endpoint& e, bool rtcp);
  void tick();

  EngineConfig config_;
  Report report_;
  Stats stats_;
  EngineCounters reported_;  // media thread: what stats_ was last told
  PortPool ports_;
  LoopThread thread_;
  // SIP thread: the legs it opened endpoints for, and their ports.
  std::unordered_map<LegId, uint16_t> legPorts_;
  std::unordered_map<LegId, int> legDtmf_;  // SIP thread: the legs' telephone-event payload types
  // Media thread.
  std::unordered_map<LegId, std::unique_ptr<Endpoint>> endpoints_;
  event* tick_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<const Clip>> clips_;  // media thread: hold music read so far
  event* frameTimer_ = nullptr;  // media thread: the recordings' 20 ms clock, running while there are any
  size_t recordings_ = 0;        // media thread: endpoints recording
  size_t mixing_ = 0;            // media thread: endpoints hearing a mix
  int64_t frameDueUs_ = 0;       // media thread: when the frame clock's next frame is due
  std::unique_ptr<Recorder> recorder_;
  struct Atomics;
  std::unique_ptr<Atomics> counters_;
};

}  // namespace sb::media
