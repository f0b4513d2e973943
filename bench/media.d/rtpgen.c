/* bench/media: the RTP generator and meter (one thread, epoll).
 *
 * Every line of LEGS_FILE is one call leg: "STREAM LOCAL_IP LOCAL_PORT
 * REMOTE_IP REMOTE_PORT". The generator binds each leg's own address and port
 * (the one its SDP named: relays latch to the signalled address, RFC 4961) and
 * sends from it, every --ptime ms, a PCMU packet (RTP version 2, PT 0, 160
 * bytes of payload: 20 ms of G.711 at 8000 Hz, RFC 3551) to the remote, which
 * is the relay's endpoint for that leg (or, in a direct run, the other leg of
 * the same call). The legs' first sends are spread evenly over one ptime.
 *
 * The payload's first bytes say which stream the packet belongs to and when
 * it was sent (a relay decodes nothing, so they arrive as they left):
 *   0  'SBMD'           4  stream id      8  packet number (from 0)
 *   12 CLOCK_MONOTONIC ns at the send     20 CLOCK_REALTIME ns at the send
 * the rest is 0xFF, mu-law silence. Whichever leg receives a packet reads the
 * stream from it, so no correlation of the relay's legs is needed.
 *
 * Per stream it counts packets received (a bitmap: duplicates apart), lost
 * (sent - received after a drain), reordered; per packet the one-way delay
 * from the sender's clock to the kernel's receive time stamp (SO_TIMESTAMPNS:
 * when the packet was queued on our socket, so our own wake-up latency is not
 * in it) and to our read (CLOCK_MONOTONIC, the application's view); and the
 * RFC 3550 (6.4.1, A.8) interarrival jitter J += (|D| - J) / 16 with D the
 * change in transit time between consecutive packets of the stream, sampled
 * after each packet. Delays and jitter are taken for packets sent inside the
 * measuring window only (after --warmup); loss over every packet sent.
 * It also checks the routing: each stream must arrive at one leg only, and
 * the leg that receives stream A must send the stream that arrives at A's leg
 * (the pairs are consistent), and packets must come from the leg's remote.
 * Drops on our own sockets (SO_RXQ_OVFL) are counted apart from the relay's.
 *
 * Output (stdout): "ready LEGS BOUND", "window-start", "window-end" as they
 * happen (the bench samples CPU times at those lines), then one JSON line.
 *
 * usage: rtpgen LEGS_FILE [--warmup S] [--window S] [--drain-ms MS] [--ptime MS]
 *                         [--tick-us US] [--rcvbuf BYTES]
 * Built by bench/media into its work folder: cc -O2 -o rtpgen rtpgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_LEGS 20000
#define PAYLOAD 160
#define HEADER 12
#define PACKET (HEADER + PAYLOAD)
#define BATCH 16
#define HIST_NS 100              /* histogram bucket width */
#define HIST_BUCKETS 1000000     /* 100 ns x 1e6 = 100 ms; beyond: overflow, max kept */
static const uint8_t MAGIC[4] = {'S', 'B', 'M', 'D'};

struct leg {
  int fd;
  struct sockaddr_in local, remote;
  int64_t next_due;  /* CLOCK_MONOTONIC ns of its next send */
  uint32_t seq;      /* packets sent so far: the next packet number */
  uint32_t sent_window;
  int64_t first_send;
  uint32_t ovfl;     /* our socket's drop counter, as last reported */
};

struct stream {      /* what arrived of the stream leg i sends, wherever it arrived */
  uint32_t received, received_window, dups, reordered, strays;
  int32_t max_seq;
  int32_t at_leg;    /* the leg it arrives at; -1 before the first packet */
  uint32_t misrouted;
  int have_transit;
  int64_t last_transit;
  double jitter;     /* ns */
  uint8_t* seen;     /* one bit per packet number */
};

struct hist {
  uint32_t* b;
  uint64_t n, over;
  int64_t max;
};

static struct leg legs[MAX_LEGS];
static struct stream streams[MAX_LEGS];
static int nlegs;
static uint32_t max_packets;
static volatile sig_atomic_t stop_flag;

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void put32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static void put64(uint8_t* p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}
static uint32_t get32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t* p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static void hist_init(struct hist* h) {
  h->b = calloc(HIST_BUCKETS, sizeof *h->b);
  if (!h->b) { perror("calloc"); exit(2); }
}
static void hist_add(struct hist* h, int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns > h->max) h->max = ns;
  h->n++;
  int64_t i = ns / HIST_NS;
  if (i >= HIST_BUCKETS) h->over++;
  else h->b[i]++;
}
/* The q-quantile (0..1) in microseconds, nearest rank; -1 when empty. */
static double hist_q(const struct hist* h, double q) {
  if (h->n == 0) return -1;
  uint64_t rank = (uint64_t)ceil(q * (double)h->n);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int64_t i = 0; i < HIST_BUCKETS; ++i) {
    seen += h->b[i];
    if (seen >= rank) return (i * HIST_NS + HIST_NS / 2) / 1000.0;
  }
  return h->max / 1000.0;
}
static void hist_json(const char* name, const struct hist* h) {
  printf("\"%s\":{\"n\":%" PRIu64 ",\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,"
         "\"over_100ms\":%" PRIu64 "}",
         name, h->n, hist_q(h, 0.50), hist_q(h, 0.90), hist_q(h, 0.99), hist_q(h, 0.999), h->max / 1000.0, h->over);
}

static int parse_addr(const char* ip, const char* port, struct sockaddr_in* sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  long p = strtol(port, NULL, 10);
  if (p <= 0 || p > 65535) return -1;
  sa->sin_port = htons((uint16_t)p);
  return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static void on_signal(int s) { (void)s; stop_flag = 1; }

static void usage(void) {
  fprintf(stderr, "usage: rtpgen LEGS_FILE [--warmup S] [--window S] [--drain-ms MS] [--ptime MS] [--tick-us US]"
                  " [--rcvbuf BYTES]\n");
  exit(2);
}

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const char* path = argv[1];
  double warmup_s = 3, window_s = 20;
  int drain_ms = 500, ptime_ms = 20, tick_us = 500, rcvbuf = 1 << 20;
  for (int i = 2; i < argc; ++i) {
    if (i + 1 >= argc) usage();
    const char* k = argv[i];
    const char* v = argv[++i];
    if (!strcmp(k, "--warmup")) warmup_s = atof(v);
    else if (!strcmp(k, "--window")) window_s = atof(v);
    else if (!strcmp(k, "--drain-ms")) drain_ms = atoi(v);
    else if (!strcmp(k, "--ptime")) ptime_ms = atoi(v);
    else if (!strcmp(k, "--tick-us")) tick_us = atoi(v);
    else if (!strcmp(k, "--rcvbuf")) rcvbuf = atoi(v);
    else usage();
  }
  if (warmup_s < 0 || warmup_s > 600 || window_s <= 0 || window_s > 3600 || drain_ms < 0 || drain_ms > 60000 ||
      ptime_ms < 5 || ptime_ms > 200 || tick_us < 50 || tick_us > 20000 || rcvbuf < 0)
    usage();
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  FILE* f = fopen(path, "r");
  if (!f) { perror(path); return 2; }
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char lip[64], lport[16], rip[64], rport[16];
    unsigned id;
    if (line[0] == '#' || line[0] == '\n') continue;
    if (sscanf(line, "%u %63s %15s %63s %15s", &id, lip, lport, rip, rport) != 5) {
      fprintf(stderr, "rtpgen: bad line: %s", line);
      return 2;
    }
    if (nlegs >= MAX_LEGS || id != (unsigned)nlegs) {
      fprintf(stderr, "rtpgen: streams must be numbered 0.. in order, at most %d\n", MAX_LEGS);
      return 2;
    }
    struct leg* l = &legs[nlegs];
    if (parse_addr(lip, lport, &l->local) || parse_addr(rip, rport, &l->remote)) {
      fprintf(stderr, "rtpgen: bad address: %s", line);
      return 2;
    }
    l->fd = -1;
    nlegs++;
  }
  fclose(f);
  if (nlegs == 0) { fprintf(stderr, "rtpgen: no legs\n"); return 2; }

  const int64_t ptime = (int64_t)ptime_ms * 1000000;
  max_packets = (uint32_t)((warmup_s + window_s) * 1000.0 / ptime_ms) + 16;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) { perror("epoll_create1"); return 2; }
  int bound = 0;
  for (int i = 0; i < nlegs; ++i) {
    struct leg* l = &legs[i];
    struct stream* s = &streams[i];
    s->at_leg = -1;
    s->max_seq = -1;
    s->seen = calloc((max_packets + 7) / 8, 1);
    if (!s->seen) { perror("calloc"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("socket"); return 2; }
    int one = 1;
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    if (bind(fd, (struct sockaddr*)&l->local, sizeof l->local) != 0) {
      char a[32];
      inet_ntop(AF_INET, &l->local.sin_addr, a, sizeof a);
      fprintf(stderr, "rtpgen: bind %s:%u: %s\n", a, ntohs(l->local.sin_port), strerror(errno));
      close(fd);
      continue;
    }
    l->fd = fd;
    bound++;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) { perror("epoll_ctl"); return 2; }
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) { perror("timerfd_create"); return 2; }
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  printf("ready %d %d\n", nlegs, bound);
  fflush(stdout);

  const int64_t t0 = now_ns(CLOCK_MONOTONIC) + 100000000LL;
  const int64_t t_window = t0 + (int64_t)(warmup_s * 1e9);
  const int64_t t_end = t_window + (int64_t)(window_s * 1e9);
  for (int i = 0; i < nlegs; ++i) legs[i].next_due = t0 + ptime * i / nlegs;
  struct itimerspec its = {.it_interval = {0, tick_us * 1000L}, .it_value = {t0 / 1000000000LL, t0 % 1000000000LL}};
  if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) { perror("timerfd_settime"); return 2; }

  struct hist delay_k, delay_app, jitter;
  hist_init(&delay_k);
  hist_init(&delay_app);
  hist_init(&jitter);
  uint64_t sent = 0, send_errors = 0, late_ticks = 0, foreign = 0, no_kstamp = 0;
  int64_t max_lag = 0;
  int cursor = 0, window_said = 0, sending = 1;
  int64_t drain_until = 0;

  uint8_t pkt[PACKET];
  memset(pkt, 0xff, sizeof pkt);
  uint8_t bufs[BATCH][2048];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  char ctrl[BATCH][CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
  struct mmsghdr msgs[BATCH];
  struct epoll_event evs[256];

  while (!stop_flag) {
    int64_t now = now_ns(CLOCK_MONOTONIC);
    if (sending && now >= t_end) {
      sending = 0;
      drain_until = now + (int64_t)drain_ms * 1000000;
      printf("window-end\n");
      fflush(stdout);
      struct itimerspec off = {{0, 0}, {0, 0}};
      timerfd_settime(tfd, 0, &off, NULL);
    }
    if (!sending && now >= drain_until) break;
    if (sending && !window_said && now >= t_window) {
      window_said = 1;
      printf("window-start\n");
      fflush(stdout);
    }
    int timeout_ms = sending ? 50 : (int)((drain_until - now) / 1000000) + 1;
    int n = epoll_wait(ep, evs, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 2;
    }
    for (int e = 0; e < n; ++e) {
      uint32_t idx = evs[e].data.u32;
      if (idx == UINT32_MAX) {
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0) { /* spurious */ }
        if (!sending) continue;
        int64_t t = now_ns(CLOCK_MONOTONIC);
        int64_t lag = t - legs[cursor].next_due;
        if (lag > max_lag) max_lag = lag;
        if (lag > 2 * (int64_t)tick_us * 1000 + 1000000) late_ticks++;
        /* Every leg due by now, in the order they fall due (equal periods, so a
           cursor over the legs). One pass at most per tick. */
        for (int k = 0; k < nlegs && legs[cursor].next_due <= t && t < t_end; ++k) {
          struct leg* l = &legs[cursor];
          if (l->fd >= 0) {
            const int64_t mono = now_ns(CLOCK_MONOTONIC), real = now_ns(CLOCK_REALTIME);
            pkt[0] = 0x80;
            pkt[1] = l->seq == 0 ? 0x80 : 0x00; /* marker on the first packet, PT 0 (PCMU) */
            pkt[2] = (uint8_t)(l->seq >> 8);
            pkt[3] = (uint8_t)l->seq;
            put32(pkt + 4, l->seq * PAYLOAD); /* 8000 Hz: 160 samples a packet */
            put32(pkt + 8, 0x5b000000u | (uint32_t)cursor);
            memcpy(pkt + HEADER, MAGIC, 4);
            put32(pkt + HEADER + 4, (uint32_t)cursor);
            put32(pkt + HEADER + 8, l->seq);
            put64(pkt + HEADER + 12, (uint64_t)mono);
            put64(pkt + HEADER + 20, (uint64_t)real);
            if (sendto(l->fd, pkt, sizeof pkt, 0, (struct sockaddr*)&l->remote, sizeof l->remote) == (ssize_t)sizeof pkt) {
              if (l->seq == 0) l->first_send = mono;
              if (mono >= t_window) l->sent_window++;
              l->seq++;
              sent++;
            } else {
              send_errors++; /* counted as sent-and-lost: the packet number moves on */
              l->seq++;
            }
          }
          l->next_due += ptime;
          cursor = (cursor + 1) % nlegs;
        }
        continue;
      }
      struct leg* rl = &legs[idx];
      for (int round = 0; round < 4; ++round) {
        for (int m = 0; m < BATCH; ++m) {
          iov[m].iov_base = bufs[m];
          iov[m].iov_len = sizeof bufs[m];
          memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
          msgs[m].msg_hdr.msg_name = &from[m];
          msgs[m].msg_hdr.msg_namelen = sizeof from[m];
          msgs[m].msg_hdr.msg_iov = &iov[m];
          msgs[m].msg_hdr.msg_iovlen = 1;
          msgs[m].msg_hdr.msg_control = ctrl[m];
          msgs[m].msg_hdr.msg_controllen = sizeof ctrl[m];
        }
        int got = recvmmsg(rl->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        const int64_t mono_rx = now_ns(CLOCK_MONOTONIC);
        for (int m = 0; m < got; ++m) {
          const uint8_t* p = bufs[m];
          int64_t krx = -1;
          for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr); c; c = CMSG_NXTHDR(&msgs[m].msg_hdr, c)) {
            if (c->cmsg_level != SOL_SOCKET) continue;
            if (c->cmsg_type == SCM_TIMESTAMPNS) {
              struct timespec ts;
              memcpy(&ts, CMSG_DATA(c), sizeof ts);
              krx = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
            } else if (c->cmsg_type == SO_RXQ_OVFL) {
              uint32_t v;
              memcpy(&v, CMSG_DATA(c), sizeof v);
              rl->ovfl = v;
            }
          }
          if (msgs[m].msg_len < HEADER + 28 || (p[0] & 0xc0) != 0x80 || memcmp(p + HEADER, MAGIC, 4) != 0) {
            foreign++;
            continue;
          }
          uint32_t sid = get32(p + HEADER + 4), seq = get32(p + HEADER + 8);
          if (sid >= (uint32_t)nlegs || seq >= max_packets) {
            foreign++;
            continue;
          }
          struct stream* s = &streams[sid];
          if (from[m].sin_addr.s_addr != rl->remote.sin_addr.s_addr || from[m].sin_port != rl->remote.sin_port)
            s->strays++;
          if (s->at_leg < 0) s->at_leg = (int32_t)idx;
          else if (s->at_leg != (int32_t)idx) s->misrouted++;
          uint8_t bit = (uint8_t)(1u << (seq & 7));
          if (s->seen[seq >> 3] & bit) {
            s->dups++;
            continue;
          }
          s->seen[seq >> 3] |= bit;
          s->received++;
          if ((int32_t)seq < s->max_seq) s->reordered++;
          else s->max_seq = (int32_t)seq;
          const int64_t mono_tx = (int64_t)get64(p + HEADER + 12), real_tx = (int64_t)get64(p + HEADER + 20);
          if (mono_tx < t_window) continue; /* warm-up: counted, not measured */
          s->received_window++;
          /* The transit time for the jitter: the kernel's receive stamp when
             there is one (both on CLOCK_REALTIME), else our read. */
          int64_t transit;
          if (krx >= 0) {
            hist_add(&delay_k, krx - real_tx);
            transit = krx - real_tx;
          } else {
            no_kstamp++;
            transit = mono_rx - mono_tx;
          }
          hist_add(&delay_app, mono_rx - mono_tx);
          if (s->have_transit) {
            int64_t d = transit - s->last_transit;
            if (d < 0) d = -d;
            s->jitter += ((double)d - s->jitter) / 16.0;
            hist_add(&jitter, (int64_t)s->jitter);
          }
          s->have_transit = 1;
          s->last_transit = transit;
        }
        if (got < BATCH) break;
      }
    }
  }

  /* Loss, per stream and per second of the run (by each lost packet's send time). */
  uint64_t sent_window = 0, received = 0, received_window = 0, dups = 0, reordered = 0, strays = 0, misrouted = 0;
  uint64_t lost = 0, gen_drops = 0;
  int lost_streams = 0, silent_streams = 0, pair_errors = 0, dead_legs = 0;
  const int seconds = (int)(warmup_s + window_s) + 2;
  uint64_t* lost_by_second = calloc((size_t)seconds, sizeof *lost_by_second);
  for (int i = 0; i < nlegs; ++i) {
    struct leg* l = &legs[i];
    struct stream* s = &streams[i];
    if (l->fd < 0) { dead_legs++; continue; }
    sent_window += l->sent_window;
    received += s->received;
    received_window += s->received_window;
    dups += s->dups;
    reordered += s->reordered;
    strays += s->strays;
    misrouted += s->misrouted;
    gen_drops += l->ovfl;
    if (s->received < l->seq) {
      lost += l->seq - s->received;
      lost_streams++;
      for (uint32_t q = 0; q < l->seq; ++q)
        if (!(s->seen[q >> 3] & (1u << (q & 7)))) {
          int sec = (int)((l->first_send + (int64_t)q * ptime - t0) / 1000000000LL);
          if (sec >= 0 && sec < seconds) lost_by_second[sec]++;
        }
    }
    if (s->received == 0) silent_streams++;
    /* Pairs: the stream this leg sends arrives at leg B; the stream B sends
       must arrive here. */
    if (s->at_leg >= 0 && streams[s->at_leg].at_leg != i) pair_errors++;
  }
  /* What the legs should have sent by t_end at one packet per ptime: less
     means this generator could not keep the rate (its CPU, not the relay). */
  uint64_t expected = 0;
  for (int i = 0; i < nlegs; ++i) {
    const int64_t first = t0 + ptime * i / nlegs;
    if (legs[i].fd >= 0 && t_end > first) expected += (uint64_t)((t_end - first + ptime - 1) / ptime);
  }
  uint64_t lost_window = 0;
  for (int i = 0; i < nlegs; ++i)
    if (legs[i].fd >= 0 && streams[i].received_window < legs[i].sent_window)
      lost_window += legs[i].sent_window - streams[i].received_window;
  double jit_final_max = 0;
  for (int i = 0; i < nlegs; ++i)
    if (streams[i].jitter > jit_final_max) jit_final_max = streams[i].jitter;

  printf("{\"legs\":%d,\"bound\":%d,\"dead_legs\":%d,\"expected\":%" PRIu64 ",\"sent\":%" PRIu64
         ",\"sent_window\":%" PRIu64
         ",\"received\":%" PRIu64 ",\"received_window\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"lost_window\":%" PRIu64
         ",\"lost_streams\":%d,\"silent_streams\":%d,\"duplicates\":%" PRIu64 ",\"reordered\":%" PRIu64
         ",\"strays\":%" PRIu64 ",\"misrouted\":%" PRIu64 ",\"pair_errors\":%d,\"foreign\":%" PRIu64
         ",\"gen_socket_drops\":%" PRIu64 ",\"send_errors\":%" PRIu64 ",\"late_ticks\":%" PRIu64
         ",\"max_send_lag_us\":%.1f,\"no_kernel_stamp\":%" PRIu64 ",\"jitter_final_max_us\":%.2f,",
         nlegs, bound, dead_legs, expected, sent, sent_window, received, received_window, lost, lost_window, lost_streams,
         silent_streams, dups, reordered, strays, misrouted, pair_errors, foreign, gen_drops, send_errors, late_ticks,
         max_lag / 1000.0, no_kstamp, jit_final_max / 1000.0);
  hist_json("delay_us", &delay_k);
  printf(",");
  hist_json("delay_app_us", &delay_app);
  printf(",");
  hist_json("jitter_us", &jitter);
  printf(",\"lost_by_second\":[");
  for (int i = 0; i < seconds; ++i) printf("%s%" PRIu64, i ? "," : "", lost_by_second[i]);
  printf("],\"interrupted\":%d}\n", stop_flag ? 1 : 0);
  fflush(stdout);
  return 0;
}
