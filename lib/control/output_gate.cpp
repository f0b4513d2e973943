#include "control/output_gate.hpp"

namespace sb::control {

bool OutputGate::offer(uint64_t seq, size_t queuedBytes) {
  if (dropping_ && queuedBytes <= low_) dropping_ = false;
  if (!dropping_ && queuedBytes >= high_) dropping_ = true;
  if (!dropping_) return true;
  record(seq, seq, 1);
  return false;
}

void OutputGate::recordLost(uint64_t fromSeq, uint64_t toSeq) {
  if (toSeq < fromSeq) return;
  record(fromSeq, toSeq, toSeq - fromSeq + 1);
}

void OutputGate::onDrained(size_t queuedBytes) {
  if (dropping_ && queuedBytes <= low_) dropping_ = false;
}

DropNotice OutputGate::takeNotice() {
  DropNotice n = pending_.value_or(DropNotice{});
  pending_.reset();
  return n;
}

void OutputGate::record(uint64_t fromSeq, uint64_t toSeq, uint64_t count) {
  droppedTotal_ += count;
  if (!pending_) {
    pending_ = DropNotice{fromSeq, toSeq, count};
    return;
  }
  if (fromSeq < pending_->fromSeq) pending_->fromSeq = fromSeq;
  if (toSeq > pending_->toSeq) pending_->toSeq = toSeq;
  pending_->count += count;
}

}  // namespace sb::control
