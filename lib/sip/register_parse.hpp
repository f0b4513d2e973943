#pragma once
// Sofia's parsed REGISTER -> the registrar's plain RegisterRequest. Anything the
// registrar cannot use is reported in RegisterRequest::malformed (answered 400
// and counted), never thrown.
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>

#include <string>

#include "sip/registrar.hpp"

namespace sb::sip {

// "udp:203.0.113.5:5062" and the bare address, from where the message really came.
bool messageSource(msg_t* msg, std::string& source, std::string& ip);
// "udp:203.0.113.5:5062" -> "sip:203.0.113.5:5062;transport=udp": the next hop of
// a request to a phone (keepalive, INVITE) is where its REGISTER came from, its
// NAT mapping, whatever its Contact says.
std::string routeForSource(const std::string& source);
RegisterRequest parseRegister(msg_t* msg, const sip_t* sip);
// A new INVITE from outside the trunks, for Registrar::authorizeCall; its
// credentials are those of Proxy-Authorization (RFC 3261 §22.3). Without a
// usable source address, sourceIp stays empty (refused).
CallRequest parseCall(msg_t* msg, const sip_t* sip);
// The contact URI in comparable form (RFC 3261 §19.1.4, simplified: scheme and
// host case-insensitive, user case-sensitive, port and transport significant).
std::string contactKey(const url_t* u);

}  // namespace sb::sip
