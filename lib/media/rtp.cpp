#include "media/rtp.hpp"

namespace sb::media {

std::optional<RtpHeader> parseRtp(const uint8_t* data, size_t size) {
  if (size < 12 || (data[0] >> 6) != 2) return std::nullopt;
  RtpHeader h;
  h.marker = (data[1] & 0x80) != 0;
  h.payloadType = data[1] & 0x7f;
  if (h.payloadType >= 72 && h.payloadType <= 76) return std::nullopt;
  h.sequence = be16(data + 2);
  h.timestamp = be32(data + 4);
  h.ssrc = be32(data + 8);
  size_t header = 12 + 4 * static_cast<size_t>(data[0] & 0x0f);  // the CSRC list
  if (data[0] & 0x10) {
    // §5.3.1: a 4-byte extension header whose length counts 32-bit words.
    if (size < header + 4) return std::nullopt;
    header += 4 + 4 * static_cast<size_t>(be16(data + header + 2));
  }
  if (size < header) return std::nullopt;
  size_t padding = 0;
  if (data[0] & 0x20) {
    padding = data[size - 1];
    if (padding == 0 || header + padding > size) return std::nullopt;
  }
  h.headerBytes = header;
  h.payloadBytes = size - header - padding;
  return h;
}

void writeRtpHeader(uint8_t* data, uint8_t payloadType, bool marker, uint16_t sequence, uint32_t timestamp,
                    uint32_t ssrc) {
  data[0] = 0x80;
  data[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payloadType & 0x7f));
  put16(data + 2, sequence);
  put32(data + 4, timestamp);
  put32(data + 8, ssrc);
}

void StreamRewriter::rewrite(uint8_t* data, const RtpHeader& h, int64_t nowUs) {
  if (!started_) {
    // The first source keeps its own numbering: a plain bridged call goes
    // through unchanged.
    started_ = true;
    switched_ = false;
    outSsrc_ = inSsrc_ = h.ssrc;
    seqDelta_ = 0;
    tsDelta_ = 0;
    lastSeq_ = static_cast<uint16_t>(h.sequence - 1);
    lastTs_ = h.timestamp;
    lastUs_ = nowUs;
    firstSeq_ = h.sequence;
  } else if (switched_ || h.ssrc != inSsrc_) {
    // A new source: its first packet follows the last one sent, in sequence
    // and, by the time that passed, in timestamp (at least one sample on).
    const int64_t elapsedUs = nowUs > lastUs_ ? nowUs - lastUs_ : 0;
    uint64_t samples = static_cast<uint64_t>(elapsedUs) * clockRate_ / 1'000'000;
    if (samples == 0) samples = 1;
    seqDelta_ = static_cast<uint16_t>(lastSeq_ + 1 - h.sequence);
    tsDelta_ = static_cast<uint32_t>(lastTs_ + samples - h.timestamp);
    inSsrc_ = h.ssrc;
    switched_ = false;
    data[1] |= 0x80;  // marker: a new talkspurt (RFC 3551 §4.1)
  }
  const uint16_t seq = static_cast<uint16_t>(h.sequence + seqDelta_);
  const uint32_t ts = h.timestamp + tsDelta_;
  put16(data + 2, seq);
  put32(data + 4, ts);
  put32(data + 8, outSsrc_);
  // Reordered or repeated packets pass with their own numbers; only a packet
  // that moves the stream on moves where a next source would continue.
  ++packets_;
  octets_ += static_cast<uint32_t>(h.payloadBytes);
  if (seqAfter(seq, lastSeq_)) {
    if (seq < lastSeq_ && packets_ > 1) cycles_ += 0x10000;  // wrapped (the first packet only sets the start)
    lastSeq_ = seq;
    lastTs_ = ts;
    lastUs_ = nowUs;
  }
}

}  // namespace sb::media
