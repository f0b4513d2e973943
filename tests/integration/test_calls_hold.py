"""Hold end to end (RFC 3264 section 8.4): Call.hold and Call.unHold re-INVITE
both legs of a bridged call with the SDP each last got, its streams sendonly
(then sendrecv again) and its session version one higher each time; the desk
phone's own hold key (its re-INVITE with a=sendonly) is relayed to the PBX and
mirrored as the same session state. Each gives the hold / unHold events of
spec/interface.md with `by`. The PBX is a SIPp trunk (trunk_call_hold.xml), the
phone a SIPp desk phone that holds and resumes once by itself
(phone_answer_hold.xml)."""
import re
import unittest

from calls import ALICE, Trunk
from harness import wait_for
from test_calls import CallTest


def origin_version(msg):
    m = re.search(r"^o=\S+ \S+ (\d+) ", msg.body, re.M)
    return int(m.group(1)) if m else None


def direction(msg):
    m = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", msg.body, re.M)
    return m.group(1) if m else "sendrecv"


class Hold(CallTest):
    def test_the_phones_hold_key_then_call_hold_and_unhold_from_the_socket(self):
        self.start(ring_timeout=8, queue_timeout=10)
        phone = self.phone("1001", "phone_answer_hold")
        pbx = self.sipp(Trunk(self.d, "trunk_call_hold"))
        sid = self.assert_call_in(self.events.expect("callIn", ALICE), ALICE, 8)
        accessed = self.events.expect("userAccessed", ALICE, sessionId=sid)

        # 1. The phone's own hold and resume, relayed to the PBX as they came.
        held = self.events.expect("hold", ALICE, since=self.events.after(accessed), sessionId=sid)
        self.assertEqual(held["data"], {"sessionId": sid, "by": "seat"})
        resumed = self.events.expect("unHold", ALICE, since=self.events.after(held), sessionId=sid)
        self.assertEqual(resumed["data"]["by"], "seat")
        wait_for(lambda: len([m for m in pbx.received("INVITE")]) >= 2 and len(pbx.received("ACK")) >= 2,
                 what="the PBX took the phone's two re-INVITEs")
        relayed = pbx.received("INVITE")
        self.assertEqual([direction(m) for m in relayed], ["sendonly", "sendrecv"], pbx.summary())
        self.assertEqual([origin_version(m) for m in relayed], [3, 4], "the phone's own versions, unshifted")
        wait_for(lambda: len(phone.sent("ACK")) >= 2, what="the phone ACKed both of its re-INVITEs' answers")

        # 2. Call.hold from the socket: both legs re-INVITEd sendonly, version one up.
        r = self.events.call("Call.hold", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("status"), "success", r)
        held = self.events.expect("hold", ALICE, since=self.events.after(resumed), sessionId=sid)
        self.assertEqual(held["data"]["by"], "seat")
        self.assertEqual(self.events.call("Call.hold", {"userId": ALICE, "sessionId": sid}).get("errorCode"),
                         "invalidTransition")
        wait_for(lambda: len(pbx.received("INVITE")) >= 3 and len(pbx.received("ACK")) >= 3,
                 what="the PBX got and took the hold re-INVITE")
        wait_for(lambda: len(phone.received("INVITE")) >= 2 and len(phone.received("ACK")) >= 2,
                 what="the phone got and took the hold re-INVITE")
        self.assertEqual(self.events.session(sid)["state"], "held")

        r = self.events.call("Call.unHold", {"userId": ALICE, "sessionId": sid})
        self.assertEqual(r.get("status"), "success", r)
        self.events.expect("unHold", ALICE, since=self.events.after(held), sessionId=sid)
        wait_for(lambda: len(pbx.received("INVITE")) >= 4 and len(pbx.received("ACK")) >= 4,
                 what="the PBX got and took the resume re-INVITE")
        wait_for(lambda: len(phone.received("INVITE")) >= 3 and len(phone.received("ACK")) >= 3,
                 what="the phone got and took the resume re-INVITE")
        pbx.poke()
        self.events.expect("sessionEnded", ALICE, sessionId=sid)
        self.success(pbx, phone)

        ours = pbx.received("INVITE")[2:]
        self.assertEqual([direction(m) for m in ours], ["sendonly", "sendrecv"], pbx.summary())
        # The PBX's leg last got the phone's version 4: ours are 5 and 6 (RFC 3264 section 8).
        self.assertEqual([origin_version(m) for m in ours], [5, 6], pbx.summary())
        ok = pbx.answer()
        for m in ours:
            self.assertEqual(m.get("call-id"), ok.get("call-id"), "in the customer's dialog")
            self.assertIn("m=audio", m.body)
        # The phone's leg: the PBX's last SDP to it (its answer to the resume, version 3), raised.
        to_phone = phone.received("INVITE")[1:]
        self.assertEqual([direction(m) for m in to_phone], ["sendonly", "sendrecv"], phone.summary())
        first = origin_version(to_phone[0])
        self.assertEqual(origin_version(to_phone[1]), first + 1)


if __name__ == "__main__":
    unittest.main()
