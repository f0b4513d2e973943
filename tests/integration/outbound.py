"""Helpers for the tests of calls the agents place from their desk phone
(test_calls_outbound.py, test_calls_outbound_failures.py, and the socket's
calls in test_calls_3pcc.py and test_calls_internal.py): the dial plan they
configure, a scripted desk phone that places whole calls, and their base
test class."""
import os
import unittest
import uuid

from calls import ALICE, SCENARIOS, TRUNK_HOST, Events, Sipp, call_daemon
from harness import free_port, wait_for
from test_calls_auth import DeskPhone, params
from trunk_peers import wait_bound


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

    def start(self, online=True, after_call_work=0, before=None, scripted_phone=True, **config):
        """online: True (alice), False, or the userIds to sign in; scripted_phone:
        register alice's extension from the scripted OutboundPhone (self.phone)."""
        self.peers = []
        self.d = call_daemon(after_call_work=after_call_work, mutate=outbound_config(**config))
        self.addCleanup(self.d.close)
        result = before(self.d) if before else None
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        for who in ((ALICE,) if online is True else online or ()):
            self.events.ok("Agent.online", {"userId": who})
            self.events.expect("statusChanged", who, status="free")
        if scripted_phone:
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
