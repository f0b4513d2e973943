#include "daemon/gateway_methods.hpp"

#include <unistd.h>

#include "common/clock.hpp"
#include "control/control_server.hpp"
#include "control/control_thread.hpp"
#include "sip/sip_server.hpp"
#include "sip/sip_thread.hpp"

namespace sb::daemon {

using nlohmann::json;

void addGatewayMethods(control::ControlServer& server, control::ControlThread& controlThread, sip::SipThread& sip) {
  server.addMethod("Gateway.status", [&sip, &controlThread](const json&, const control::ControlServer::Reply& reply) {
    const bool posted = sip.post([&sip, &controlThread, reply] {
      const sip::GatewayStatus s = sip.server().status();
      controlThread.post([s, reply] {
        reply.success(json{{"version", s.version},
                           {"pid", getpid()},
                           {"startedAt", s.startedAtMs},
                           {"uptimeSeconds", (wallClockMs() - s.startedAtMs) / 1000},
                           {"draining", s.draining},
                           {"configFile", s.configFile},
                           {"listen", s.listen},
                           {"extensions", s.extensions},
                           {"agents", s.agents},
                           {"skillGroups", s.skillGroups},
                           {"trunks", s.trunks}});
      });
    });
    if (!posted) reply.error("shuttingDown", "the daemon is stopping");
  });
}

}  // namespace sb::daemon
