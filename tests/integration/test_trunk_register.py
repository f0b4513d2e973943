"""Outbound registration to a trunk (trunks[].register, RFC 3261 section 10):
seatbridge keeps a REGISTER binding at the trunk, answers its digest challenge,
refreshes at half the expiry the trunk grants, backs off when refused (5 s,
doubling), reports the state as seatbridge_trunk_registered{trunk} and the
trunkRegistrationChanged event, restarts the binding when a reload changes the
register block, and unREGISTERs (Expires: 0) when it stops.

The trunk is a SIPp registrar on the trunk's address (127.0.0.2) and port
(tests/integration/sipp/trunk_registrar*.xml); the registrars run until the
test stops them, and the test reads their message traces. A short granted
expiry (4 s) makes the refresh come within seconds; nothing sleeps, the tests
await events, metrics and the traces."""
import re
import signal
import unittest

from calls import TRUNK_HOST, Events, Sipp, call_daemon, tag
from harness import wait_for
from trunk_peers import REALM, TRUNK_PASS, TRUNK_USER, check_digest, wait_bound

EXPIRES = 60   # what seatbridge asks for (config minimum)
GRANTED = 4    # what the registrar grants: a refresh every 2 s


def expires(msg):
    value = msg.get("expires")
    return int(value) if value is not None else None


class RegistrationTest(unittest.TestCase):
    def setUp(self):
        self.peers = []

    def daemon(self, register=None, mutate=None):
        def configure(cfg):
            cfg["trunks"][0]["register"] = register or {"username": TRUNK_USER, "password": TRUNK_PASS,
                                                        "expires": EXPIRES}
            if mutate:
                mutate(cfg)
        self.d = call_daemon(mutate=configure)
        self.addCleanup(self.d.close)
        return self.d

    def registrar(self, scenario, granted=GRANTED, extra=(), timeout=90):
        s = Sipp(self.d.tmp, "registrar", scenario, TRUNK_HOST, self.d.trunk_port, timeout=timeout,
                 args=["-key", "realm", REALM, "-key", "user", TRUNK_USER, "-key", "pass", TRUNK_PASS,
                       "-key", "granted", granted, *extra])
        self.addCleanup(s.close)
        self.peers.append(s)
        return wait_bound(s.start())

    def start(self):
        self.d.start()
        self.events = Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        self.replay()

    def replay(self):
        """Replays every event of this run (the first REGISTER may be answered
        before this connection subscribed): Client.resume from the history's
        start."""
        r = self.events.call("Client.resume", {"fromSeq": 1})
        if r.get("status") != "success":
            start = re.search(r"history starts at seq (\d+)", r.get("errorMsg", ""))
            self.assertIsNotNone(start, r)
            r = self.events.call("Client.resume", {"fromSeq": int(start.group(1))})
        self.assertEqual(r.get("status"), "success", r)

    def context(self):
        return "\n".join(["--- peers:"] + [s.summary() for s in self.peers] +
                         ["--- daemon log (tail):", self.d.logs()[-4000:]])

    def wait(self, predicate, what, timeout=15):
        try:
            return wait_for(predicate, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.context()}") from None

    def metric(self):
        return self.d.metric("seatbridge_trunk_registered", {"trunk": "pbx"})

    def registration(self, registered, code, timeout=15):
        e = self.events.expect("trunkRegistrationChanged", timeout=timeout, registered=registered, code=code)
        self.assertEqual(e["data"], {"trunk": "pbx", "registered": registered, "code": code}, e)
        self.assertNotIn("userId", e)
        return e

    def registers(self, registrar):
        """The REGISTERs it received, one per CSeq (a UDP retransmission is
        not another attempt)."""
        seen, out = set(), []
        for m in registrar.received("REGISTER"):
            if m.get("cseq") not in seen:
                seen.add(m.get("cseq"))
                out.append(m)
        return out

    def answers(self, registrar):
        return [m for m in registrar.sent() if m.status and m.cseq_method() == "REGISTER"]

    def wait_registers(self, registrar, count, timeout=20):
        return self.wait(lambda: len(self.registers(registrar)) >= count and self.registers(registrar),
                         f"{count} REGISTERs at the registrar", timeout)

    def stop_daemon(self):
        self.d.signal(signal.SIGTERM)
        rc = self.d.proc.wait(30)
        self.assertEqual(rc, 0, self.d.logs()[-3000:])


class Registers(RegistrationTest):
    def test_answers_the_challenge_refreshes_at_half_the_granted_expiry_and_unregisters(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar")
        self.start()
        self.registration(True, 200)
        self.wait(lambda: self.metric() == 1, "seatbridge_trunk_registered 1")
        # The refresh: a second REGISTER accepted after the first 200 (granted 4 s).
        self.wait(lambda: len([a for a in self.answers(registrar) if a.status == 200]) >= 2, "a refresh accepted")
        regs, answers = self.registers(registrar), self.answers(registrar)
        status = {a.get("cseq"): a.status for a in answers}
        for m in regs:
            if m.get("authorization") and m.get("cseq") in status:
                self.assertEqual(status[m.get("cseq")], 200, f"a valid answer accepted: {registrar.summary()}")
        first, authed, refresh = regs[0], regs[1], regs[2]
        # RFC 3261 section 10.2: the registrar's URI, the AOR in To and From, our Contact.
        self.assertEqual(first.first.split()[1], f"sip:{TRUNK_HOST}:{self.d.trunk_port}")
        for m in regs[:3]:
            self.assertIn(f"<sip:{TRUNK_USER}@{TRUNK_HOST}>", m.get("to"))
            self.assertIn(f"<sip:{TRUNK_USER}@{TRUNK_HOST}>", m.get("from"))
            self.assertIn(f"<sip:{TRUNK_USER}@127.0.0.1:{self.d.sip_port}>", m.get("contact"))
            self.assertEqual(expires(m), EXPIRES)
        # One binding: one Call-ID and From tag, CSeq one higher each time (section 10.2.4).
        self.assertEqual({m.get("call-id") for m in regs[:3]}, {first.get("call-id")})
        self.assertEqual({tag(m.get("from")) for m in regs[:3]}, {tag(first.get("from"))})
        numbers = [int(m.get("cseq").split()[0]) for m in regs[:3]]
        self.assertEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2])
        self.assertIsNone(first.get("authorization"))
        challenge = answers[0].get("www-authenticate")
        self.assertEqual(answers[0].status, 401)
        check_digest(self, authed, "authorization", challenge)
        # The refresh repeats the answer to that challenge with the next nonce count (section 22.3).
        p = check_digest(self, refresh, "authorization", challenge)
        self.assertEqual(p["nc"], "00000002")
        accepted = [a for a in answers if a.status == 200][0]
        delay = refresh.at - accepted.at
        self.assertTrue(1.5 <= delay <= 3.5, f"refreshed {delay:.2f}s after a {GRANTED}s grant")

        # Shutdown: Expires 0 for our Contact, answered before the daemon exits.
        self.stop_daemon()
        last = self.registers(registrar)[-1]
        self.assertEqual(expires(last), 0, last.raw)
        self.assertIn(f"<sip:{TRUNK_USER}@127.0.0.1:{self.d.sip_port}>", last.get("contact"))
        self.assertIsNotNone(last.get("authorization"))
        self.assertEqual(self.answers(registrar)[-1].status, 200)

    def test_sha256_is_answered_when_offered_first(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar_sha256", granted=3600)
        self.start()
        self.registration(True, 200)
        regs, answers = self.registers(registrar), self.answers(registrar)
        challenges = answers[0].all("www-authenticate")
        self.assertIn("SHA-256", challenges[0])
        p = check_digest(self, regs[1], "authorization", challenges[0])
        self.assertEqual(p["algorithm"], "SHA-256", "the topmost challenge (RFC 8760 section 2.4)")
        self.assertEqual(len(regs[1].all("authorization")), 1, "one answer per realm")


class Refused(RegistrationTest):
    def test_a_refusing_registrar_is_retried_with_a_doubling_back_off(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar_refuses")
        self.start()
        self.registration(False, 403)
        self.assertEqual(self.metric(), 0)
        regs = self.wait_registers(registrar, 3, timeout=30)
        gaps = [b.at - a.at for a, b in zip(regs, regs[1:])]
        self.assertTrue(4.5 <= gaps[0] <= 7.5, f"first retry after {gaps[0]:.2f}s (5 s)")
        self.assertTrue(9.5 <= gaps[1] <= 13, f"second retry after {gaps[1]:.2f}s (10 s)")
        self.assertEqual(self.metric(), 0)

    def test_credentials_refused_again_are_not_looped_on(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar_always_challenges")
        self.start()
        self.registration(False, 401)
        regs = self.wait_registers(registrar, 3, timeout=20)
        # One answer per attempt: no credentials, then one answer, then the
        # back-off; the next attempt starts again without credentials.
        self.assertIsNone(regs[0].get("authorization"))
        self.assertIsNotNone(regs[1].get("authorization"))
        self.assertIsNone(regs[2].get("authorization"))
        self.assertTrue(regs[2].at - regs[1].at >= 4.5, "the retry waited for the back-off")
        self.assertEqual(self.metric(), 0)

    def test_a_registrar_that_stops_answering_lets_the_binding_lapse(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar_goes_silent")
        self.start()
        up = self.registration(True, 200)
        # The refresh at 2 s goes unanswered (nta retransmits it); at 4 s the
        # binding has lapsed.
        down = self.registration(False, 408, timeout=10)
        self.assertTrue(3 <= down["_at"] - up["_at"] <= 7, down["_at"] - up["_at"])
        self.assertEqual(self.metric(), 0)
        self.assertGreaterEqual(len(self.registers(registrar)), 2)


class Reload(RegistrationTest):
    def test_a_changed_register_block_restarts_the_binding_and_a_removed_one_unregisters(self):
        self.daemon()
        registrar = self.registrar("trunk_registrar", granted=3600)
        self.start()
        self.registration(True, 200)
        before = len(self.registers(registrar))

        cfg = self.d.config
        cfg["trunks"][0]["register"]["expires"] = 120
        self.d.write_config(cfg)
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("READY=1")
        regs = self.wait_registers(registrar, before + 1)
        self.assertEqual(expires(regs[before]), 120, "registered again at once with the new expiry")
        self.wait(lambda: self.answers(registrar)[-1].status == 200 and len(self.answers(registrar)) > before,
                  "the new REGISTER accepted")
        self.assertEqual(self.metric(), 1)

        del cfg["trunks"][0]["register"]
        self.d.write_config(cfg)
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("READY=1")
        self.registration(False, 0)
        last = self.wait(lambda: [m for m in self.registers(registrar) if expires(m) == 0], "an unREGISTER")[0]
        self.assertEqual(last.get("call-id"), regs[0].get("call-id"))
        self.wait(lambda: self.metric() == 0, "seatbridge_trunk_registered 0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
