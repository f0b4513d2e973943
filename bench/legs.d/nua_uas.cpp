// bench/legs.d/nua_uas: the same UAS on nua, configured as FreeSWITCH's
// mod_sofia does it: no media (soa off), no automatic answer, INVITE left to
// the application (NUTAG_APPL_METHOD), SDP passed as the message body. The
// stack runs on the main thread's su_root (su_root_threading(root, 0)), as
// nta_legs does, so neither pays for a thread hop.
//
// nua_i_invite: the handle is bound to a Call, answered 180 then 200 with SDP.
// nua answers the BYE itself (BYE is not in NUTAG_APPL_METHOD). The handle
// is destroyed exactly once, when the call ends: nua_i_state with
// nua_callstate_terminated (1.12.11 reports the end of a call that way;
// nua_i_terminated and nua_r_bye are handled too). A handle that reaches the
// callback for anything but a call (OPTIONS, say) is destroyed at once.
// Stopping is nua_shutdown -> nua_r_shutdown -> nua_destroy.
//
// usage: nua_uas --port N [--host 127.0.0.1]
#define NUA_MAGIC_T struct Server
#define NUA_HMAGIC_T struct Call

#include <cstdio>
#include <string>

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>

#include "control.hpp"

struct Call {
  unsigned long id = 0;  // a call's own state would live here
};

struct Server {
  su_root_t* root = nullptr;
  nua_t* nua = nullptr;
  bool shut = false;
  unsigned long live = 0, invites = 0, acks = 0, byes = 0, other = 0, destroyed = 0;

  // The only place a call's handle is destroyed. Once destroyed, nua delivers
  // no more events for it, so a Call is never seen twice.
  void end_call(nua_handle_t* nh, Call* c) {
    nua_handle_bind(nh, nullptr);
    nua_handle_destroy(nh);
    ++destroyed;
    --live;
    delete c;
  }
};

namespace {

void on_event(nua_event_t event, int status, char const*, nua_t*, Server* s, nua_handle_t* nh,
              Call* c, sip_t const*, tagi_t tags[]) noexcept {
  switch (event) {
    case nua_i_invite: {
      ++s->invites;
      if (s->shut) {
        nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        nua_handle_destroy(nh);
        return;
      }
      c = new Call{s->invites};
      nua_handle_bind(nh, c);
      ++s->live;
      nua_respond(nh, SIP_180_RINGING, TAG_END());
      nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                  SIPTAG_PAYLOAD_STR(legs::kSdp), TAG_END());
      return;
    }
    case nua_i_ack:
      ++s->acks;
      return;
    case nua_i_bye:
      ++s->byes;
      return;
    case nua_i_state: {
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (state == nua_callstate_terminated && c) s->end_call(nh, c);
      return;
    }
    case nua_i_terminated:
    case nua_r_bye:
      if (c) s->end_call(nh, c);
      return;
    case nua_r_shutdown:
      if (status >= 200) su_root_break(s->root);
      return;
    default:
      // A handle the stack made for something that is not a call is ours too.
      if (nh && !c) {
        ++s->other;
        nua_handle_destroy(nh);
      }
      return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  legs::Options opt = legs::parse(argc, argv, false);
  su_init();
  Server s;
  s.root = su_root_create(nullptr);
  if (!s.root) return std::fprintf(stderr, "nua_uas: su_root_create failed\n"), 1;
  su_root_threading(s.root, 0);  // nua's stack on this thread and root
  std::string url = "sip:" + opt.host + ":" + std::to_string(opt.port) + ";transport=udp";
  s.nua = nua_create(s.root, on_event, &s,
                     NUTAG_URL(url.c_str()),
                     NUTAG_MEDIA_ENABLE(0),
                     NUTAG_AUTOANSWER(0),
                     NUTAG_AUTOALERT(0),
                     NUTAG_APPL_METHOD("INVITE"),
                     TAG_END());
  if (!s.nua) {
    std::fprintf(stderr, "nua_uas: cannot listen on %s\n", url.c_str());
    return 1;
  }
  {
    legs::Control control(
        s.root,
        [&s] {
          return "live=" + std::to_string(s.live) + " invites=" + std::to_string(s.invites) +
                 " acks=" + std::to_string(s.acks) + " byes=" + std::to_string(s.byes) +
                 " other=" + std::to_string(s.other) + " destroyed=" + std::to_string(s.destroyed);
        },
        [&s] {
          s.shut = true;
          nua_shutdown(s.nua);  // the loop ends at nua_r_shutdown
        });
    if (!control.ok()) return std::fprintf(stderr, "nua_uas: cannot watch stdin\n"), 1;
    std::printf("ready nua_uas %s\n", url.c_str());
    std::fflush(stdout);
    su_root_run(s.root);
  }
  nua_destroy(s.nua);
  su_root_destroy(s.root);
  su_deinit();
  return 0;
}
