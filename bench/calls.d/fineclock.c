/* bench/calls: makes SIPp's clock fine-grained, loaded with LD_PRELOAD.
 *
 * SIPp 3.6.1 reads its clock with clock_gettime(CLOCK_MONOTONIC_COARSE), which
 * advances once per kernel tick (4 ms at HZ=250), so every response time it
 * measures (-trace_rtt) is a multiple of the tick. A call setup through a
 * server on loopback takes well under a tick. This wrapper answers the coarse
 * clocks from the precise ones (a vDSO read either way), so the INVITE -> 200
 * times come in microseconds. Nothing else in SIPp changes.
 * Built by bench/calls into its work folder: cc -shared -fPIC -O2 fineclock.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec*);

int clock_gettime(clockid_t id, struct timespec* ts) {
  static clock_gettime_fn real;
  if (!real) real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
  if (id == CLOCK_MONOTONIC_COARSE) id = CLOCK_MONOTONIC;
  else if (id == CLOCK_REALTIME_COARSE) id = CLOCK_REALTIME;
  return real(id, ts);
}
