// libFuzzer target: every SDP edit seatbridge makes itself (lib/sip/sdp_edit.cpp,
// on Sofia's SDP parser and printer) on arbitrary bytes. The input is one
// description, or two split at the first NUL byte (an offer and an answer,
// ours and theirs), and every function that takes two gets both orders. Each
// may refuse (nullopt); none may crash, leak or read out of bounds, and what
// an edit returns must parse again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sip/sdp_edit.hpp"

using namespace sb::sip;

namespace {

void edits(const std::string& a, const std::string& b) {
  (void)sdpHeld(a);
  (void)sdpVersionShifted(a, 2);
  (void)sdpUnderOrigin(a, b);
  (void)sdpUnderOrigin(a, b, true);
  (void)sdpMirroredAnswer(a, b);
  (void)sdpNarrowed(a, b);
  (void)sdpAnswerInOfferedLaw(a, b);
  (void)sdpParkedAnswer(a, "seatbridge", 7, "192.0.2.1");
  (void)sdpOwnAnswer(a, "seatbridge", 7, "192.0.2.1", 20000);
  (void)sdpWithBothLaws(a);
  for (const bool hold : {true, false})
    if (auto again = sdpReissued(a, hold, 1)) (void)sdpHeld(*again);
  if (auto anchored = sdpAnchored(a, "192.0.2.1", 20000)) {
    // Our own output is input for the next edit (a relayed SDP anchored, then
    // held, then re-offered): it must still be SDP we read.
    if (!sdpAudio(*anchored)) __builtin_trap();
    (void)sdpMirroredAnswer(b, *anchored);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t cut = all.find('\0');
  const std::string a = all.substr(0, cut);
  const std::string b = cut == std::string::npos ? a : all.substr(cut + 1);
  edits(a, b);
  if (b != a) edits(b, a);
  return 0;
}
