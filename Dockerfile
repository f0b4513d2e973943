# seatbridge container image: Debian 12 (bookworm) in both stages.
#   docker build -t seatbridge .
#   docker run --rm -p 5060:5060/udp -p 5060:5060/tcp -p 9464:9464 seatbridge
# docker/compose.yaml runs it beside a reference PBX (Kamailio).

# --- build: the same two scripts a developer runs (README.md) -----------------
FROM debian:12-slim AS build
WORKDIR /src
# Dependencies first, so editing a source file does not reinstall the toolchain.
COPY scripts/deps scripts/deps
RUN scripts/deps build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN scripts/build release \
 && DESTDIR=/stage cmake --install build/release --prefix /usr --strip

# --- runtime: the shared libraries seatbridged links and nothing else ------------
FROM debian:12-slim
# The runtime packages of scripts/deps's build set; tests/integration/test_packaging.py
# checks this list against the libraries the built daemon actually needs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libsofia-sip-ua0 libevent-2.1-7 libevent-pthreads-2.1-7 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libsqlite3-0 libsystemd0 \
      libssl3 zlib1g libspandsp2 libsndfile1 \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid so volumes and compose's tmpfs can be owned by it.
ARG SEATBRIDGE_UID=10060
RUN groupadd --system --gid "$SEATBRIDGE_UID" seatbridge \
 && useradd --system --uid "$SEATBRIDGE_UID" --gid seatbridge --home-dir /var/lib/seatbridge \
      --shell /usr/sbin/nologin seatbridge \
 && install -d -o seatbridge -g seatbridge -m 0750 /run/seatbridge /var/lib/seatbridge \
 && install -d -m 0755 /etc/seatbridge
COPY --from=build /stage/usr/bin/seatbridged /stage/usr/bin/seatbridgectl /usr/bin/
# seatbridgectl's bash completion (an operator's `docker exec -it ... bash`).
COPY --from=build /stage/usr/share/bash-completion/completions/seatbridgectl /usr/share/bash-completion/completions/
COPY docker/seatbridge.yaml /etc/seatbridge/seatbridge.yaml
RUN seatbridged --check-config /etc/seatbridge/seatbridge.yaml
USER seatbridge
VOLUME /var/lib/seatbridge
# SIP over UDP and TCP, and Prometheus's /metrics.
EXPOSE 5060/udp 5060/tcp 9464
# Gateway.status travels control thread -> SIP thread -> control thread, so a
# success means both event loops are turning, not just that the process exists.
# seatbridgectl's own --timeout (3 s) answers for a wedged daemon before
# Docker's (5 s) kills it; its exit codes 3 and 4 (no socket, no answer) are
# folded into 1, the only failure code Docker's HEALTHCHECK defines.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD seatbridgectl --socket /run/seatbridge/seatbridge.sock --timeout 3 status >/dev/null || exit 1
# seatbridged runs as PID 1: it waits for SIGTERM/SIGINT/SIGHUP itself
# (sigtimedwait), starts no children, and drains on `docker stop`.
ENTRYPOINT ["seatbridged"]
CMD ["--config", "/etc/seatbridge/seatbridge.yaml"]
