#pragma once
// core/ never reads randomness itself: session ids come from bytes the I/O layer
// supplies. The daemon passes a CSPRNG (OpenSSL RAND_bytes or getrandom); tests
// pass a deterministic source so ids are predictable.
#include <cstddef>
#include <span>

namespace sb::core {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with unpredictable bytes. Must not fail (abort rather than return
  // weak bytes: session ids are capabilities on the control socket).
  virtual void fill(std::span<std::byte> out) = 0;
};

}  // namespace sb::core
