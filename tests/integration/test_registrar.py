"""Issue 3: the registrar with a scripted phone (harness.SipPhone): RFC 3261
§10.3 rules, stateless retransmissions, malformed input, NAT keepalives and
reachability, and bindings that survive a restart."""
import socket
import unittest

from harness import Daemon, SipPhone, registered_contacts, wait_for


def fast_keepalive(cfg):
    cfg["registrar"]["keepaliveSeconds"] = 1


class Registrar(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()
        self.phone = SipPhone(self.d.sip_port, "1001", "pw-1001")

    def tearDown(self):
        self.phone.close()
        self.d.close()

    def test_sha256_and_md5_register_and_200_lists_remaining_expiry(self):
        r = self.phone.register(expires=120, algorithm="SHA-256")
        self.assertEqual(r.status, 200, r.raw)
        self.assertIsNotNone(r.get("date"))
        [(uri, expires)] = registered_contacts(r)
        self.assertEqual(uri, f"sip:1001@127.0.0.1:{self.phone.port}")
        self.assertLessEqual(expires, 120)
        r = self.phone.register(expires=99999, algorithm="MD5")
        self.assertEqual(registered_contacts(r)[0][1], 3600)  # clamped to maxExpires
        r = self.phone.register(contact=None)  # a query (§10.3 step 8)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(registered_contacts(r)), 1)
        self.assertEqual(self.d.metric("seatbridge_registered_contacts"), 1)

    def test_a_retransmitted_authenticated_register_gets_the_same_answer(self):
        text, ruri = self.phone.build(600)
        self.phone.send(text)
        ch = self.phone.response()
        text, _ = self.phone.build(600, authorization=self.phone.authorization(ch.get("www-authenticate"), ruri))
        self.phone.send(text)
        first = self.phone.response()
        self.phone.send(text)  # the same datagram again, as after a lost 200
        second = self.phone.response()
        self.assertEqual((first.status, second.status), (200, 200))
        self.assertEqual(len(registered_contacts(first)), len(registered_contacts(second)))

    def test_a_replayed_authorization_on_a_new_request_is_refused(self):
        text, ruri = self.phone.build(600)
        self.phone.send(text)
        ch = self.phone.response()
        auth = self.phone.authorization(ch.get("www-authenticate"), ruri)
        text, _ = self.phone.build(600, authorization=auth)
        self.phone.send(text)
        self.assertEqual(self.phone.response().status, 200)
        text, _ = self.phone.build(0, authorization=auth)  # new CSeq, same nc: a replay
        self.phone.send(text)
        r = self.phone.response()
        self.assertEqual(r.status, 401)
        self.assertIn("stale=true", r.get("www-authenticate"))
        self.assertEqual(self.d.metric("seatbridge_registered_contacts"), 1)

    def test_older_cseq_on_the_same_call_id_is_refused(self):
        self.phone.cseq = 10
        self.assertEqual(self.phone.register(600).status, 200)
        self.phone.cseq = 2
        r = self.phone.register(0)
        self.assertEqual(r.status, 500)  # §10.3 step 7
        self.assertEqual(self.d.metric("seatbridge_registered_contacts"), 1)

    def test_wildcard_with_expires_zero_removes_every_contact(self):
        self.phone.register(600)
        self.phone.register(600, contact=f"<sip:other@127.0.0.1:{self.phone.port}>")
        # The gauge follows the 200 (it is set after the reply goes out): await it.
        wait_for(lambda: self.d.metric("seatbridge_registered_contacts") == 2, 5, "two contacts counted")
        self.assertEqual(self.phone.register(600, contact="*").status, 400)  # * needs Expires: 0
        r = self.phone.register(0, contact="*")
        self.assertEqual(r.status, 200)
        self.assertEqual(registered_contacts(r), [])
        wait_for(lambda: self.d.metric("seatbridge_registered_contacts") == 0, 5, "no contact counted")

    def test_require_gets_420_with_unsupported(self):
        r = self.phone.register(600, extra=["Require: gruu"])
        self.assertEqual(r.status, 420)
        self.assertEqual(r.get("unsupported"), "gruu")

    def test_malformed_registers_get_400_and_are_counted_and_nothing_breaks(self):
        r = self.phone.register(600, contact="<tel:+15550100>")
        self.assertEqual(r.status, 400)
        self.assertEqual(self.d.metric("seatbridge_sip_malformed_total", {"reason": "contact_uri"}), 1)
        text, _ = self.phone.build(600, extra=["Contact: <sip:x@h>;expires=soon"])
        self.phone.send(text)
        self.assertEqual(self.phone.response().status, 400)
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for junk in (b"\x00\xff garbage", b"REGISTER sip:x SIP/2.0\r\n\r\n", b"REGISTER\r\n" * 50):
            raw.sendto(junk, ("127.0.0.1", self.d.sip_port))
        raw.close()
        wait_for(lambda: self.d.metric("seatbridge_sip_malformed_total", {"reason": "parser"}), what="parser count")
        self.assertEqual(self.phone.register(600).status, 200)


class KeepaliveAndRestart(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(mutate=fast_keepalive).start()
        self.phone = SipPhone(self.d.sip_port, "1001", "pw-1001")

    def tearDown(self):
        self.phone.close()
        self.d.close()

    def test_keepalive_options_reach_the_phone_at_its_source_and_misses_make_it_unreachable(self):
        self.assertEqual(self.phone.register(600).status, 200)
        ka = self.phone.wait_request("OPTIONS")  # answered 200 by the phone
        self.assertIn(f"127.0.0.1:{self.phone.port}", ka.first)
        # Stop answering: after three misses the contact is unreachable, but still bound.
        wait_for(lambda: "missed 3 keepalives: unreachable" in self.d.logs(), timeout=15, what="unreachable")
        self.assertEqual(self.d.metric("seatbridge_registered_contacts"), 1)
        # Answer again: reachable again.
        self.phone.wait_request("OPTIONS")
        wait_for(lambda: "answers again" in self.d.logs(), timeout=10, what="reachable again")

    def test_bindings_survive_a_restart_and_the_phone_is_reached_without_reregistering(self):
        self.assertEqual(self.phone.register(600).status, 200)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.assertIn("restored 1 binding(s)", self.d.logs())
        self.assertEqual(self.d.metric("seatbridge_registered_contacts"), 1)
        ka = self.phone.wait_request("OPTIONS", timeout=10)  # no REGISTER since the restart
        self.assertIn(f"sip:1001@127.0.0.1:{self.phone.port}", ka.first)
        r = self.phone.register(contact=None)  # the query lists the restored binding
        self.assertEqual([u for u, _ in registered_contacts(r)], [f"sip:1001@127.0.0.1:{self.phone.port}"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
