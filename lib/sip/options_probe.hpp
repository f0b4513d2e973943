#pragma once
// One OPTIONS (RFC 3261 §11) sent statelessly: no client transaction is kept, so
// a lost probe is simply a missed answer, and the answer comes back to the
// agent's message callback, where its sender matches it by Call-ID. Used for the
// registrar's NAT keepalives to phones and for the trunks' liveness pings.
#include <sofia-sip/nta.h>

#include <string>

namespace sb::sip {

// `route` may be empty (sent to the Request-URI's host). Returns false when the
// message could not be built or sent.
bool sendOptionsProbe(nta_agent_t* agent, const std::string& requestUri, const std::string& route,
                      const std::string& callId, const std::string& fromHost, const std::string& userAgent);

}  // namespace sb::sip
