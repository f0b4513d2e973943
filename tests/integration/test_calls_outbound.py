"""Calls the agents place from their desk phone (outbound): the phone dials a
number, seatbridge challenges the INVITE (407), checks the dial plan and the
per-extension limits (lib/core/gateway_outbound.cpp), and rings the customer
through a trunk; what each leg receives and the events that tell the SDK.

The desk phone is test_calls_auth.DeskPhone (scripted, UDP), so every answer
it gets can be checked; the carrier behind the trunk is a SIPp UAS on the
trunk's address and port (127.0.0.2, a second trunk on 127.0.0.3), scenarios
sipp/out_trunk_*.xml. Alice (extension 1001, skill group sales) dials; the
trunk and the sales group carry North American numbers (+1NXXNXXXXXX)."""
import os
import socket
import unittest
import uuid

from calls import ALICE, SCENARIOS, TRUNK_HOST, Events, Sipp, call_daemon, sdp_media, tag
from harness import free_port, wait_for
from test_calls_auth import DeskPhone, params
from trunk_peers import REALM, TRUNK_PASS, TRUNK_USER, check_digest, wait_bound

CUSTOMER = "+15552345678"      # a number the dial plan allows (NXX: the exchange starts 2-9)
PATTERN = "+1NXXNXXXXXX"
PREMIUM = "+19005551234"       # matched by PATTERN's wildcards, but +1900 is restricted
INTERNATIONAL = "+442071234567"
GROUP_CALLER = "+15550199111"  # the sales group's caller number
TRUNK_CALLER = "+15550199000"  # the trunk's (harness.base_config)
LOCATION = "+15550100500"      # extension 1001's location number (emergency calls)
TRUNK2_HOST = "127.0.0.3"
TRUNK2_CALLER = "+15550199222"  # the second trunk's caller number


def outbound_config(group_caller=True, trunk2=False, asserted=False, privacy=False, mutate_more=None, **outbound):
    """mutate for call_daemon: the trunk and sales carry PATTERN; outbound.* as given."""
    def mutate(cfg):
        t = cfg["trunks"][0]
        t["dialPatterns"] = [PATTERN]
        t["callerNumbers"] = [TRUNK_CALLER]
        if asserted:
            t["assertedIdentity"] = True
        if privacy:
            t["privacy"] = "id"
        sales = next(g for g in cfg["skillGroups"] if g["id"] == "sales")
        sales["dialPatterns"] = [PATTERN]
        if group_caller:
            sales["callerNumbers"] = [GROUP_CALLER]
        for e in cfg["extensions"]:
            if e["id"] == "1001":
                e["locationNumber"] = LOCATION
        if trunk2:
            second = dict(t, name="pbx2", address=f"{TRUNK2_HOST}:{trunk2}", inboundFrom=[f"{TRUNK2_HOST}/32"])
            second.pop("assertedIdentity", None)
            second.pop("privacy", None)
            cfg["trunks"].append(second)
        cfg["outbound"] = dict({"ringTimeout": 10}, **outbound)
        if mutate_more:
            mutate_more(cfg)
    return mutate


class OutboundPhone(DeskPhone):
    """A DeskPhone that places whole calls: INVITE, the 407 answered, then the
    call's provisional and final answers, ACK of a 2xx, BYE and CANCEL.
    Answers read while waiting for another one are kept for the next wait."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.kept = []

    def answer_to(self, cseq_line, timeout=15):
        """The next response whose CSeq is cseq_line ("2 INVITE"); others are kept."""
        for i, r in enumerate(self.kept):
            if r.get("cseq") == cseq_line:
                return self.kept.pop(i)
        while True:
            r = self.response(timeout)
            if r.get("cseq") == cseq_line:
                return r
            self.kept.append(r)

    def dial(self, number, offer=True):
        """Sends the INVITE (offer=False: without SDP), answers the 407 with
        SHA-256 digest credentials and sends it again; returns the
        authenticated INVITE's fields."""
        self.from_tag = uuid.uuid4().hex[:8]
        call_id = uuid.uuid4().hex
        text, fields = self.invite(number, call_id=call_id)
        r = self.call(text, fields)
        assert r.status == 407, r.raw
        chosen = next(c for c in r.all("proxy-authenticate") if params(c).get("algorithm") == "SHA-256")
        text, fields = self.invite(number, authorization=self.proxy_authorization(chosen, f"sip:{number}@{self.domain}"),
                                   call_id=call_id)
        if not offer:
            head = [l for l in text.split("\r\n\r\n")[0].split("\r\n") if not l.startswith("Content-")]
            text = "\r\n".join(head + ["Content-Length: 0", "", ""])
        self.send(text)
        fields["provisional"] = []
        return fields

    def outcome(self, fields, timeout=15, ack_sdp=""):
        """The final answer to the call's INVITE (provisional ones kept in
        fields['provisional']); a 2xx is ACKed in the dialog (with ack_sdp, the
        answer to an offer in it), a failure in the transaction."""
        while True:
            r = self.answer_to(f"{fields['cseq']} INVITE", timeout)
            if r.status < 200:
                fields["provisional"].append(r)
                continue
            if r.status < 300:
                fields["ok"] = r
                self.send(self.in_dialog("ACK", fields, r, cseq=fields["cseq"], body=ack_sdp))
            else:
                self.send(self.ack(fields, r))
            return r

    def in_dialog(self, method, fields, ok, cseq, body=""):
        """A request in the dialog the 2xx `ok` made: to its Contact, its To tag."""
        target = ok.get("contact").strip("<>").split(">")[0]
        lines = [f"{method} {target} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.host}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
                 "Max-Forwards: 70",
                 f"From: {fields['from']}",
                 f"To: {ok.get('to')}",
                 f"Call-ID: {fields['call_id']}",
                 f"CSeq: {cseq} {method}"]
        if method == "INVITE":
            lines.append(f"Contact: {self.contact()}")
        if body:
            lines.append("Content-Type: application/sdp")
        return "\r\n".join(lines + [f"Content-Length: {len(body)}", "", body])

    def next_cseq(self, fields):
        fields["dialog_cseq"] = fields.get("dialog_cseq", fields["cseq"]) + 1
        return fields["dialog_cseq"]

    def hang_up(self, fields):
        """BYE in the call's dialog; returns its answer."""
        n = self.next_cseq(fields)
        self.send(self.in_dialog("BYE", fields, fields["ok"], cseq=n))
        return self.answer_to(f"{n} BYE")

    def reinvite(self, fields, sdp):
        """A re-INVITE in the call's dialog with `sdp`; returns its final answer, ACKed."""
        n = self.next_cseq(fields)
        self.send(self.in_dialog("INVITE", fields, fields["ok"], cseq=n, body=sdp))
        while True:
            r = self.answer_to(f"{n} INVITE")
            if r.status >= 200:
                break
        self.send(self.in_dialog("ACK", fields, fields["ok"], cseq=n))
        return r

    def cancel(self, fields):
        """CANCEL of the pending INVITE (RFC 3261 §9.1: its branch and CSeq number); returns the 200."""
        self.send("\r\n".join([f"CANCEL {fields['ruri']} SIP/2.0",
                               f"Via: SIP/2.0/UDP {self.host}:{self.port};rport;branch={fields['branch']}",
                               "Max-Forwards: 70",
                               f"From: {fields['from']}",
                               f"To: <{fields['ruri']}>",
                               f"Call-ID: {fields['call_id']}",
                               f"CSeq: {fields['cseq']} CANCEL",
                               "Content-Length: 0", "", ""]))
        return self.answer_to(f"{fields['cseq']} CANCEL")

    def take_bye(self, timeout=15):
        """Waits for seatbridge's BYE and answers it 200."""
        while True:
            msg = self.recv(timeout)
            if msg.method == "BYE":
                self.answer(msg, msg.source)
                return msg


def phone_ringing(phone, call):
    """Whether the phone got 180 to the call's INVITE (polled with wait_for:
    reads what came meanwhile)."""
    try:
        r = phone.answer_to(f"{call['cseq']} INVITE", timeout=0.2)
    except OSError:
        return False
    assert r.status < 200, r.raw
    call["provisional"].append(r)
    return r.status == 180


class OutboundTest(unittest.TestCase):
    """One daemon per test (start()), alice signed in unless told otherwise,
    her desk phone registered as self.phone."""

    def start(self, online=True, after_call_work=0, before=None, **config):
        self.peers = []
        self.d = call_daemon(after_call_work=after_call_work, mutate=outbound_config(**config))
        self.addCleanup(self.d.close)
        result = before(self.d) if before else None
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        if online:
            self.events.ok("Agent.online", {"userId": ALICE})
            self.events.expect("statusChanged", ALICE, status="free")
        self.phone = self.desk_phone()
        return result

    def desk_phone(self, host="127.0.0.1", register=True):
        p = OutboundPhone(self.d.sip_port, "1001", "pw-1001", host=host, domain=self.d.config["sip"]["domain"])
        self.addCleanup(p.close)
        if register:
            r = p.register(600)
            self.assertEqual(r.status, 200, r.raw)
        return p

    def carrier(self, scenario, host=TRUNK_HOST, port=None, calls=1, talk_ms=0, code=None, name="carrier", args=(),
                d=None):
        """The SIPp UAS on a trunk's address taking `calls` calls (two at once at most)."""
        d = d or self.d
        self.rtp_port = free_port(host)
        args = ["-key", "rtp_port", self.rtp_port, "-d", talk_ms] + list(args)
        if code:
            scenario = self.refusal_scenario(code)
        s = Sipp(d.tmp, name, scenario, host, port or d.trunk_port, args=args)
        s.cmd[s.cmd.index("-m") + 1] = str(calls)
        s.cmd[s.cmd.index("-l") + 1] = "2"
        s.rtp_port = self.rtp_port
        self.addCleanup(s.close)
        self.peers.append(s)
        wait_bound(s.start())
        return s

    def refusal_scenario(self, code):
        """out_trunk_refuse.xml answering `code` instead of 486 (a copy in the
        daemon's folder: SIPp reads no response code from a -key)."""
        with open(os.path.join(SCENARIOS, "out_trunk_refuse.xml")) as f:
            text = f.read()
        assert "SIP/2.0 486 Busy Here" in text
        path = os.path.join(self.d.tmp, f"out_trunk_refuse_{code}")
        with open(path + ".xml", "w") as f:
            f.write(text.replace("SIP/2.0 486 Busy Here", f"SIP/2.0 {code} Refused"))
        return path  # Sipp joins it to SCENARIOS: an absolute path stays as it is

    def context(self):
        return "\n".join(["--- peers:"] + [s.summary() for s in self.peers] +
                         ["--- daemon log (tail):", self.d.logs()[-4000:]])

    def success(self, *sipps):
        for s in sipps:
            rc = s.wait()
            if rc != 0:
                raise AssertionError(f"{s.name} exited {rc}\n{s.logs()}\n{self.context()}")

    def metric(self, name, **labels):
        return self.d.metric(name, labels or None) or 0

    def refusals(self, reason):
        return self.metric("seatbridge_outbound_refused_total", reason=reason)

    def call_out(self, number=CUSTOMER, dialled=None):
        """Dials; returns (the INVITE's fields, the callOuted event)."""
        call = self.phone.dial(dialled or number)
        outed = self.events.expect("callOuted", ALICE, calleePhoneNumber=number)
        return call, outed["data"]

    def refused(self, dialled, status, phrase, reason):
        """Dials a number seatbridge must refuse: the phone's answer, the
        calloutRefused event (the number as dialled) and the metric."""
        before = self.refusals(reason)
        mark = self.events.mark()
        call = self.phone.dial(dialled)
        r = self.phone.outcome(call)
        self.assertEqual(r.first, f"SIP/2.0 {status} {phrase}", r.raw)
        e = self.events.expect("calloutRefused", ALICE, since=mark)
        self.assertEqual(e["data"], {"extensionId": "1001", "calleePhoneNumber": dialled, "reason": reason})
        self.assertFalse([x for x in self.events.seen[mark:] if x["event"] == "callOuted"], self.events.describe(mark))
        wait_for(lambda: self.refusals(reason) == before + 1, what=f"seatbridge_outbound_refused_total{{{reason}}}")
        return r

    def record(self, session_id):
        row = self.events.session(session_id)
        self.assertIsNotNone(row, self.events.sessions())
        return row

    def ended(self, session_id, close_by, end_state):
        e = self.events.expect("sessionEnded", ALICE, sessionId=session_id)
        self.assertEqual(e["data"]["closeBy"], close_by, e)
        row = self.wait_record(session_id, end_state)
        self.assertEqual((row["direction"], row["closeBy"]), ("outbound", close_by), row)
        return e

    def wait_record(self, session_id, end_state):
        """The session's row once it shows an end state, which must be end_state."""
        def ended():
            row = self.events.session(session_id)
            return row if row and row.get("endState") else None
        try:
            row = wait_for(ended, what=f"session {session_id} ended in Gateway.listSessions")
        except AssertionError as e:
            raise AssertionError(f"{e}: {self.events.sessions()}") from None
        self.assertEqual(row["endState"], end_state, row)
        return row


class DialAndTalk(OutboundTest):
    def test_the_customer_answers_and_hangs_up(self):
        self.start(after_call_work=1)
        carrier = self.carrier("out_trunk_answer_hangup", talk_ms=300)
        mark = self.events.mark()
        call, outed = self.call_out()
        self.assertEqual(outed, {"sessionId": outed["sessionId"], "callerPhoneNumber": GROUP_CALLER,
                                 "calleePhoneNumber": CUSTOMER, "serverType": "staffExtensionSeat", "tabUUID": ""})
        sid = outed["sessionId"]
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        accepted = self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.assertEqual(accepted["data"], {"sessionId": sid})
        # While they talk: a live outbound session of the agent's desk phone.
        live = self.record(sid)
        self.assertEqual((live["direction"], live["serverType"], live["userId"], live["calleePhoneNumber"],
                          live["callerPhoneNumber"]),
                         ("outbound", "staffExtensionSeat", ALICE, CUSTOMER, GROUP_CALLER), live)
        # The customer hangs up: the phone gets the BYE.
        bye = self.phone.take_bye()
        self.assertEqual(bye.get("call-id"), call["call_id"])
        self.assertEqual(tag(bye.get("to")), self.phone.from_tag)
        self.assertEqual(tag(bye.get("from")), tag(r.get("to")))
        self.ended(sid, "client", "ok")
        self.success(carrier)

        # The trunk's INVITE: the number at the trunk, the group's caller number.
        invite = carrier.received("INVITE")
        self.assertEqual(len(invite), 1, carrier.summary())
        invite = invite[0]
        self.assertTrue(invite.first.startswith(f"INVITE sip:{CUSTOMER}@{TRUNK_HOST}:{self.d.trunk_port}"),
                        invite.first)
        self.assertIn(f"<sip:{GROUP_CALLER}@seatbridge.test>", invite.get("from"))
        self.assertIn(f"sip:{CUSTOMER}@", invite.get("to"))
        self.assertIsNone(tag(invite.get("to")))
        self.assertIsNone(invite.get("p-asserted-identity"), "no assertedIdentity configured")
        self.assertIsNone(invite.get("privacy"))
        self.assertNotEqual(invite.get("call-id"), call["call_id"], "a leg of its own (B2BUA)")
        self.assertEqual(sdp_media(invite), ("127.0.0.1", 40000), "the phone's offer")
        # The phone heard the ringing and got the customer's SDP answer.
        self.assertIn(180, [p.status for p in call["provisional"]])
        self.assertEqual(sdp_media(r), (TRUNK_HOST, carrier.rtp_port), r.raw)
        # Event order, and alice: busy for the call, then wrap-up, then free.
        names = [e["event"] for e in self.events.seen[mark:]
                 if e["event"] in ("callOuted", "calloutAccepted", "sessionEnded")]
        self.assertEqual(names, ["callOuted", "calloutAccepted", "sessionEnded"], self.events.describe(mark))
        self.events.expect("statusChanged", ALICE, since=mark, status="free")
        self.assertEqual(self.events.status_changes(ALICE, mark), ["busy", "arrange", "free"],
                         self.events.describe(mark))
        # The stored record.
        records = self.events.ok("Gateway.listRecords").get("records", [])
        rec = next((x for x in records if x.get("sessionId") == sid), None)
        self.assertIsNotNone(rec, records)
        self.assertEqual((rec["direction"], rec["endState"], rec["closeBy"], rec["trunk"], rec["userId"],
                          rec["callerPhoneNumber"], rec["calleePhoneNumber"], rec["skillGroupId"]),
                         ("outbound", "ok", "client", "pbx", ALICE, GROUP_CALLER, CUSTOMER, "sales"), rec)
        self.assertIsNotNone(rec["answeredAt"], rec)

    def test_the_agent_hangs_up(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.events.expect("calloutAccepted", ALICE, sessionId=outed["sessionId"])
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        bye = carrier.received("BYE")
        self.assertEqual(len(bye), 1, carrier.summary())
        invite = carrier.received("INVITE")[0]
        self.assertEqual(bye[0].get("call-id"), invite.get("call-id"), "the BYE in the trunk leg's dialog")
        self.assertEqual(tag(bye[0].get("from")), tag(invite.get("from")))
        self.events.expect("statusChanged", ALICE, status="free")

    def test_the_agent_hangs_up_from_the_sdk(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": outed["sessionId"]})
        bye = self.phone.take_bye()
        self.assertEqual(bye.get("call-id"), call["call_id"])
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        self.assertEqual(len(carrier.received("BYE")), 1, carrier.summary())

    def test_the_agent_gives_up_from_the_sdk_while_it_rings(self):
        self.start()
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        wait_for(lambda: phone_ringing(self.phone, call), what="180 at the phone")
        self.events.ok("Call.hungUp", {"userId": ALICE, "sessionId": outed["sessionId"]})
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 487, r.raw)
        self.ended(outed["sessionId"], "seat", "callerCancel")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())

    def test_a_signed_out_agent_may_still_dial_and_keeps_her_status(self):
        self.start(online=False)
        carrier = self.carrier("out_trunk_answer_hangup", talk_ms=100)
        mark = self.events.mark()
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.phone.take_bye()
        self.ended(outed["sessionId"], "client", "ok")
        self.success(carrier)
        self.assertEqual(self.events.status_changes(ALICE, mark), [])


class CallerIdentity(OutboundTest):
    def test_asserted_identity_with_the_trunks_caller_number(self):
        # No callerNumbers on the group: the trunk's first is presented.
        self.start(group_caller=False, asserted=True)
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(outed["callerPhoneNumber"], TRUNK_CALLER)
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invite = carrier.received("INVITE")[0]
        self.assertIn(f"<sip:{TRUNK_CALLER}@seatbridge.test>", invite.get("from"))
        self.assertEqual(invite.get("p-asserted-identity"), f"<sip:{TRUNK_CALLER}@seatbridge.test>")
        self.assertIsNone(invite.get("privacy"))

    def test_privacy_id_sends_an_anonymous_from(self):
        self.start(asserted=True, privacy=True)
        carrier = self.carrier("out_trunk_answer")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invite = carrier.received("INVITE")[0]
        self.assertTrue(invite.get("from").startswith('"Anonymous" <sip:anonymous@anonymous.invalid>'),
                        invite.get("from"))
        self.assertEqual(invite.get("p-asserted-identity"), f"<sip:{GROUP_CALLER}@seatbridge.test>")
        self.assertEqual(invite.get("privacy"), "id")


class ChallengingTrunk(OutboundTest):
    def test_the_trunks_407_is_answered_with_its_credentials(self):
        def credentials(cfg):
            cfg["trunks"][0]["register"] = {"username": TRUNK_USER, "password": TRUNK_PASS, "expires": 3600}
        # The carrier first (seatbridge registers with it as it starts): the
        # REGISTER is a call of its own, hence two.
        carrier = self.start(mutate_more=credentials, before=lambda d: self.carrier(
            "trunk_mobile_auth", calls=2, args=["-s", "customer", "-key", "realm", REALM], d=d))
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)
        first, second = carrier.received("INVITE")
        challenge = [m for m in carrier.sent(status=407) if m.cseq_method() == "INVITE"][0]
        self.assertIsNone(first.get("proxy-authorization"))
        check_digest(self, second, "proxy-authorization", challenge.get("proxy-authenticate"))
        self.assertEqual(second.get("from"), first.get("from"))
        self.assertIn(f"<sip:{GROUP_CALLER}@", second.get("from"))
        byes = carrier.received("BYE")
        self.assertEqual(len(byes), 2, carrier.summary())
        check_digest(self, byes[1], "proxy-authorization",
                     [m for m in carrier.sent(status=407) if m.cseq_method() == "BYE"][0].get("proxy-authenticate"))


class DialPlan(OutboundTest):
    def test_numbers_outside_the_dial_plan_are_refused_and_never_reach_the_trunk(self):
        self.start()
        carrier = self.carrier("out_trunk_answer")
        # NXX: an exchange starting with 1 is no North American number.
        self.refused("+15551234567", 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("+1-555-123-4567", 403, "Number Not Allowed", "numberNotAllowed")  # the same, with separators
        # +1900 is restricted: the wildcards of +1NXXNXXXXXX match it, but only
        # a pattern spelling +1900 out would allow it.
        self.refused(PREMIUM, 403, "Number Not Allowed", "numberNotAllowed")
        self.refused(INTERNATIONAL, 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("011442071234567", 403, "Number Not Allowed", "numberNotAllowed")
        self.refused("555abc", 484, "Address Incomplete", "invalidNumber")
        self.assertEqual(self.refusals("numberNotAllowed"), 5)
        self.assertEqual(self.events.sessions(), [])
        self.assertEqual(carrier.messages(), [], "nothing went to the trunk")
        # The visual separators are dropped: this one goes out, as the first
        # and only INVITE the trunk gets.
        call, outed = self.call_out(CUSTOMER, dialled="+1(555)234-56.78")
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual([m.first.split()[1].split("@")[0] for m in invites], [f"sip:{CUSTOMER}"])

    def test_the_agents_own_patterns_replace_the_groups_and_a_spelled_out_prefix_allows_it(self):
        def premium(cfg):
            alice = next(a for a in cfg["agents"] if a["userId"] == ALICE)
            alice["dialPatterns"] = ["+1900NXXXXXX", "+44XXXXXXXXXX"]
            cfg["trunks"][0]["dialPatterns"] = [PATTERN, "+1900XXXXXXX"]
        self.start(mutate_more=premium)
        carrier = self.carrier("out_trunk_answer")
        # The group's pattern no longer applies to alice.
        self.refused(CUSTOMER, 403, "Number Not Allowed", "numberNotAllowed")
        # Alice may dial +44, but no trunk carries it.
        self.refused(INTERNATIONAL, 403, "No Route For Number", "noRoute")
        call, outed = self.call_out(PREMIUM)
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        self.assertTrue(carrier.received("INVITE")[0].first.startswith(f"INVITE sip:{PREMIUM}@"))

    def test_a_phone_bound_to_no_agent_dials_emergency_numbers_only(self):
        """Extension 1003 has no agent: no dial plan, so only 911 goes out; its
        calloutRefused has no userId and reaches every subscriber."""
        self.start()
        lobby = OutboundPhone(self.d.sip_port, "1003", "pw-1003", host="127.0.0.1", domain="seatbridge.test")
        self.addCleanup(lobby.close)
        self.assertEqual(lobby.register(600).status, 200)
        call = lobby.dial(CUSTOMER)
        self.assertEqual(lobby.outcome(call).first, "SIP/2.0 403 Number Not Allowed")
        refused = self.events.expect("calloutRefused", extensionId="1003")
        self.assertNotIn("userId", refused)
        self.assertEqual(refused["data"]["reason"], "numberNotAllowed")
        carrier = self.carrier("out_trunk_answer")
        call = lobby.dial("911")
        outed = self.events.expect("callOuted", calleePhoneNumber="911")
        self.assertEqual(outed["data"]["callerPhoneNumber"], TRUNK_CALLER, "no group, no location number")
        self.assertEqual(lobby.outcome(call).status, 200)
        self.assertEqual(lobby.hang_up(call).status, 200)
        self.success(carrier)
        row = self.wait_record(outed["data"]["sessionId"], "ok")
        self.assertEqual((row["userId"], row["direction"]), ("", "outbound"), row)

    def test_a_stranger_is_refused_unchallenged(self):
        self.start()
        stranger = self.desk_phone(host="127.0.0.6", register=False)
        text, fields = stranger.invite(CUSTOMER, call_id=uuid.uuid4().hex)
        r = stranger.call(text, fields)
        self.assertEqual((r.status, r.all("proxy-authenticate")), (403, []), r.raw)
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="untrustedSource"), 1)
        self.assertEqual(self.events.sessions(), [])


class Limits(OutboundTest):
    def test_concurrent_limit_and_an_emergency_call_past_it(self):
        self.start(maxConcurrentPerExtension=1)
        carrier = self.carrier("out_trunk_answer", calls=2)
        first, outed = self.call_out()
        self.assertEqual(self.phone.outcome(first).status, 200)
        self.refused(CUSTOMER, 403, "Too Many Calls", "concurrentLimit")
        # 911: no dial pattern names it and the limit is reached, yet it goes
        # out, presenting the extension's location number.
        sos, sos_outed = self.call_out("911")
        self.assertEqual(sos_outed["callerPhoneNumber"], LOCATION)
        self.assertEqual(self.phone.outcome(sos).status, 200)
        for call in (sos, first):
            self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual(len(invites), 2, carrier.summary())
        self.assertTrue(invites[1].first.startswith(f"INVITE sip:911@{TRUNK_HOST}:"), invites[1].first)
        self.assertIn(f"<sip:{LOCATION}@seatbridge.test>", invites[1].get("from"))
        self.ended(outed["sessionId"], "seat", "ok")
        # The limit counts live calls: with both ended, alice may dial again.
        again = self.carrier("out_trunk_refuse", name="carrier-again")
        call, _ = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 486)
        self.success(again)
        self.assertEqual(self.refusals("concurrentLimit"), 1)

    def test_rate_limit_and_an_emergency_call_past_it(self):
        self.start(maxPerMinutePerExtension=2)
        carrier = self.carrier("out_trunk_refuse", calls=3, code=486)
        for _ in range(2):  # each refused by the customer at once: none is live
            call, outed = self.call_out()
            self.assertEqual(self.phone.outcome(call).status, 486)
            self.ended(outed["sessionId"], "client", "busy")
        self.refused(CUSTOMER, 403, "Call Rate Exceeded", "rateLimit")
        sos, sos_outed = self.call_out("112")
        self.assertEqual(sos_outed["callerPhoneNumber"], LOCATION)
        self.assertEqual(self.phone.outcome(sos).status, 486)
        self.success(carrier)
        invites = carrier.received("INVITE")
        self.assertEqual(len(invites), 3, carrier.summary())
        self.assertIn(f"<sip:{LOCATION}@seatbridge.test>", invites[2].get("from"))


class CustomerFailures(OutboundTest):
    def test_the_customer_is_busy(self):
        self.start()
        carrier = self.carrier("out_trunk_refuse", code=486)
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 486, r.raw)
        self.assertIn(180, [p.status for p in call["provisional"]])
        self.ended(outed["sessionId"], "client", "busy")
        self.success(carrier)
        self.events.expect("statusChanged", ALICE, status="free")
        self.assertFalse([e for e in self.events.seen if e["event"] == "calloutAccepted"])

    def test_each_refusal_of_the_customers_network_has_its_end_state(self):
        self.start()
        table = [(404, "numberNotExist"), (484, "numberNotExist"), (604, "numberNotExist"), (603, "userReject"),
                 (600, "busy"), (410, "notInService"), (502, "notInService"), (480, "notAnswer"), (408, "notAnswer"),
                 (487, "notAnswer")]
        for code, state in table:
            with self.subTest(code=code):
                carrier = self.carrier("out_trunk_refuse", code=code, name=f"carrier{code}")
                call, outed = self.call_out()
                r = self.phone.outcome(call)
                self.assertEqual(r.status, code, r.raw)  # the phone hears the customer's answer
                self.ended(outed["sessionId"], "client", state)
                self.success(carrier)

    def test_the_customer_does_not_answer_within_ring_timeout(self):
        self.start(ringTimeout=2)
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 480, r.raw)
        self.ended(outed["sessionId"], "timer", "notAnswer")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())
        invite = carrier.received("INVITE")[0]
        cancel = carrier.received("CANCEL")[0]
        self.assertGreaterEqual(cancel.at - invite.at, 1.5, "CANCELled after outbound.ringTimeout")

    def test_the_agent_gives_up_while_it_rings(self):
        self.start()
        carrier = self.carrier("out_trunk_ring")
        call, outed = self.call_out()
        wait_for(lambda: phone_ringing(self.phone, call), what="180 at the phone")
        self.assertEqual(self.phone.cancel(call).status, 200)
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 487, r.raw)
        self.ended(outed["sessionId"], "seat", "callerCancel")
        self.success(carrier)
        self.assertEqual(len(carrier.received("CANCEL")), 1, carrier.summary())



class Offerless(OutboundTest):
    def test_a_phone_that_offers_nothing_gets_the_customers_offer_and_its_ack_carries_the_answer(self):
        self.start()
        carrier = self.carrier("out_trunk_offerless")
        call = self.phone.dial(CUSTOMER, offer=False)
        outed = self.events.expect("callOuted", ALICE)["data"]
        answer = (f"v=0\r\no=desk 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                  f"m=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        r = self.phone.outcome(call, ack_sdp=answer)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(sdp_media(r), (TRUNK_HOST, carrier.rtp_port), "the customer's offer")
        invite = carrier.wait_received("INVITE")
        self.assertEqual(invite.body.strip(), "", "no offer to the trunk either")
        ack = carrier.wait_received("ACK")
        self.assertEqual(sdp_media(ack), ("127.0.0.1", 40002), "the phone's answer in the trunk's ACK")
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)


class MidCall(OutboundTest):
    def test_digits_from_the_sdk_and_a_hold_from_the_phone_reach_the_trunk(self):
        self.start()
        carrier = self.carrier("out_trunk_midcall")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        sid = outed["sessionId"]
        self.events.expect("calloutAccepted", ALICE, sessionId=sid)
        self.events.ok("Call.sendDigits", {"userId": ALICE, "sessionId": sid, "dtmfText": "5"})
        info = carrier.wait_received("INFO")
        self.assertEqual(info.get("content-type"), "application/dtmf-relay", info.raw)
        carrier.wait_sent(status=200)
        hold = (f"v=0\r\no=desk 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n")
        r = self.phone.reinvite(call, hold)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIn("a=recvonly", r.body, "the customer's answer to the hold")
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(sid, "seat", "ok")
        self.success(carrier)
        reinvite = carrier.received("INVITE")[1]
        self.assertEqual(reinvite.get("call-id"), carrier.received("INVITE")[0].get("call-id"))


class Failover(OutboundTest):
    def start_two(self):
        port2 = free_port(TRUNK2_HOST)
        self.start(trunk2=port2)
        return port2

    def test_a_408_or_5xx_moves_the_call_to_the_next_trunk(self):
        port2 = self.start_two()
        for code in (503, 408, 500):
            with self.subTest(code=code):
                first = self.carrier("out_trunk_refuse", code=code, name=f"trunk1-{code}")
                second = self.carrier("out_trunk_answer_hangup", host=TRUNK2_HOST, port=port2, talk_ms=200,
                                      name=f"trunk2-{code}")
                mark = self.events.mark()
                call, outed = self.call_out()
                r = self.phone.outcome(call)
                self.assertEqual(r.status, 200, r.raw)
                self.assertEqual(sdp_media(r), (TRUNK2_HOST, second.rtp_port))
                self.events.expect("calloutAccepted", ALICE, sessionId=outed["sessionId"])
                self.phone.take_bye()
                self.ended(outed["sessionId"], "client", "ok")
                self.success(first, second)
                one, two = first.received("INVITE")[0], second.received("INVITE")[0]
                self.assertTrue(two.first.startswith(f"INVITE sip:{CUSTOMER}@{TRUNK2_HOST}:{port2}"), two.first)
                self.assertEqual(sdp_media(two), sdp_media(one), "the same offer")
                self.assertIn(f"<sip:{GROUP_CALLER}@", two.get("from"))
                self.assertEqual(len([e for e in self.events.seen[mark:] if e["event"] == "callOuted"]), 1)
                self.assertEqual(self.record(outed["sessionId"])["trunk"], "pbx2")

    def test_the_next_trunk_presents_its_own_caller_number(self):
        """With no group callerNumbers, each trunk presents its own first
        callerNumbers ("else the trunk's first"): a carrier refuses or rewrites
        a number that is not its own."""
        port2 = free_port(TRUNK2_HOST)

        def numbers(cfg):
            cfg["trunks"][1]["callerNumbers"] = [TRUNK2_CALLER]
        self.start(trunk2=port2, group_caller=False, mutate_more=numbers)
        first = self.carrier("out_trunk_refuse", code=503, name="trunk1")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, name="trunk2")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 200)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(first, second)
        self.assertIn(f"<sip:{TRUNK_CALLER}@", first.received("INVITE")[0].get("from"))
        self.assertIn(f"<sip:{TRUNK2_CALLER}@", second.received("INVITE")[0].get("from"))

    def test_a_trunk_known_down_is_passed_over_and_none_left_is_503_trunks_down(self):
        """The first trunk is pinged (OPTIONS every second) and a deaf socket
        there never answers: once it is down, calls go straight to the second,
        and a number only the first carries is refused 503 trunksDown."""
        port2 = free_port(TRUNK2_HOST)
        uk = "+44XXXXXXXXXX"

        def ping_the_first(cfg):
            cfg["trunks"][0].update(pingSeconds=1, dialPatterns=[PATTERN, uk])
            next(a for a in cfg["agents"] if a["userId"] == ALICE)["dialPatterns"] = [PATTERN, uk]
        deaf = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(deaf.close)
        self.start(trunk2=port2, mutate_more=ping_the_first, before=lambda d: deaf.bind((TRUNK_HOST, d.trunk_port)))
        self.events.expect("trunkStateChanged", trunk="pbx", up=False)
        self.refused(INTERNATIONAL, 503, "No Trunk Available", "trunksDown")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, calls=2, name="trunk2")
        for number in (CUSTOMER, "911"):
            call, _ = self.call_out(number)
            self.assertEqual(self.phone.outcome(call).status, 200)
            self.assertEqual(self.phone.hang_up(call).status, 200)
        self.success(second)
        self.assertEqual([m.first.split("@")[0] for m in second.received("INVITE")],
                         [f"INVITE sip:{CUSTOMER}", "INVITE sip:911"])
        deaf.setblocking(False)
        got = []
        while True:
            try:
                got.append(deaf.recv(65535).split(b" ", 1)[0])
            except BlockingIOError:
                break
        self.assertTrue(got, "the first trunk was pinged")
        self.assertEqual(set(got), {b"OPTIONS"}, "nothing but pings went to the first trunk")

    def test_a_486_is_not_failed_over(self):
        port2 = self.start_two()
        first = self.carrier("out_trunk_refuse", code=486, name="trunk1")
        second = self.carrier("out_trunk_answer", host=TRUNK2_HOST, port=port2, name="trunk2")
        call, outed = self.call_out()
        self.assertEqual(self.phone.outcome(call).status, 486)
        self.ended(outed["sessionId"], "client", "busy")
        self.success(first)
        self.assertEqual(second.messages(), [], second.summary())


class EarlyMedia(OutboundTest):
    def test_the_trunks_183_reaches_the_phone_with_its_sdp(self):
        self.start()
        carrier = self.carrier("out_trunk_early_media", talk_ms=300)
        call, outed = self.call_out()
        r = self.phone.outcome(call)
        self.assertEqual(r.status, 200, r.raw)
        early = [p for p in call["provisional"] if p.status == 183]
        self.assertEqual(len(early), 1, [p.first for p in call["provisional"]])
        self.assertEqual(early[0].get("content-type"), "application/sdp")
        self.assertEqual(sdp_media(early[0]), (TRUNK_HOST, carrier.rtp_port), early[0].raw)
        self.assertEqual(self.phone.hang_up(call).status, 200)
        self.ended(outed["sessionId"], "seat", "ok")
        self.success(carrier)


if __name__ == "__main__":
    unittest.main(verbosity=2)
