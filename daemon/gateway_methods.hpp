#pragma once
// Control-socket methods that read the gateway's state: each asks the SIP thread
// (which owns the state) and answers back on the control thread.
namespace sb::sip {
class SipThread;
}
namespace sb::control {
class ControlServer;
class ControlThread;
}  // namespace sb::control

namespace sb::daemon {

void addGatewayMethods(control::ControlServer& server, control::ControlThread& controlThread, sip::SipThread& sip);

}  // namespace sb::daemon
