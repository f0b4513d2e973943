"""Issue 8 item 1: trunks. Each trunk is pinged with OPTIONS (seatbridge_trunk_up,
trunkStateChanged), and admission control refuses calls beyond a trunk's
maxCalls or maxCallsPerSecond with 503 and Retry-After, counted by reason."""
import socket
import threading
import unittest

import test_calls
from calls import BOB, CUSTOMER, NUMBER, TRUNK_HOST, Sipp
from harness import SipPhone, free_port


class TrunkPings(test_calls.CallTest):
    def test_a_trunk_that_answers_is_up_and_one_that_stops_is_down(self):
        def pinged(cfg):
            cfg["trunks"][0]["pingSeconds"] = 1
        self.d = test_calls.call_daemon(mutate=pinged)
        self.addCleanup(self.d.close)
        self.peers = []
        # The PBX's OPTIONS answerer: a scripted UA on the trunk's address and port
        # (its recv() answers every OPTIONS 200).
        pbx = SipPhone(self.d.sip_port, "pbx", "-", host=TRUNK_HOST, port=self.d.trunk_port)
        self.addCleanup(pbx.close)
        stop = threading.Event()

        def answer():
            while not stop.is_set():
                try:
                    pbx.recv(timeout=0.2)
                except (socket.timeout, OSError):
                    continue
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        self.d.start()
        self.events = test_calls.Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        up = self.events.expect("trunkStateChanged", timeout=10)
        self.assertEqual(up["data"], {"trunk": "pbx", "up": True})
        self.assertNotIn("userId", up)
        self.wait(lambda: self.metric("seatbridge_trunk_up", trunk="pbx") == 1, "trunk up in the metrics")

        stop.set()
        t.join()
        down = self.events.expect("trunkStateChanged", timeout=10)
        self.assertEqual(down["data"], {"trunk": "pbx", "up": False})
        self.wait(lambda: self.metric("seatbridge_trunk_up", trunk="pbx") == 0 and
                  self.d.metric("seatbridge_trunk_up", {"trunk": "pbx"}) is not None, "trunk down in the metrics")

    def test_a_trunk_that_is_not_pinged_counts_as_up(self):
        self.start()
        self.assertEqual(self.metric("seatbridge_trunk_up", trunk="pbx"), 1)


class Admission(test_calls.CallTest):
    def test_max_calls_refuses_the_next_call_with_503_and_retry_after(self):
        def limited(cfg):
            cfg["trunks"][0]["maxCalls"] = 1
        self.d = test_calls.call_daemon(queue_timeout=30, mutate=limited)
        self.addCleanup(self.d.close)
        self.d.start()
        self.events = test_calls.Events(self.d)
        self.events.context = self.context
        self.addCleanup(self.events.close)
        self.peers = []
        self.events.ok("Agent.online", {"userId": BOB})  # signed in, nothing to ring: calls wait
        first = self.trunk("trunk_cancel")
        self.wait(lambda: any(r.get("state") != "ended" for r in self.events.sessions()), "the first call waiting")
        second = self.trunk("trunk_rejected", name="second", port=free_port(TRUNK_HOST))
        self.success(second)
        self.assertEqual(second.final_status(), 503)
        final = [m for m in second.received() if m.status == 503][0]
        self.assertIsNotNone(final.get("retry-after"))
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="trunkBusy"), 1)
        first.give_up()
        self.success(first)

    def test_max_calls_per_second_refuses_a_burst(self):
        def limited(cfg):
            cfg["trunks"][0]["maxCallsPerSecond"] = 1
        self.d = test_calls.call_daemon(mutate=limited)
        self.addCleanup(self.d.close)
        self.d.start()
        self.peers = []
        # Three calls 100 ms apart from one SIPp: the first is taken (and refused
        # 480: nobody is signed in), the others are over the rate.
        burst = self.sipp(Sipp(self.d.tmp, "burst", "trunk_rejected", TRUNK_HOST, self.d.trunk_port,
                               remote=f"127.0.0.1:{self.d.sip_port}",
                               args=["-s", NUMBER, "-key", "caller", CUSTOMER, "-key", "rtp_port", "4000", "-d", "0",
                                     "-m", "3", "-l", "3", "-r", "10", "-rp", "1000"]))
        burst.wait()
        codes = sorted(m.status for m in burst.received() if m.status and m.status >= 300)
        self.assertEqual(codes.count(503), 2, codes)
        self.assertEqual(self.metric("seatbridge_calls_refused_total", reason="trunkRate"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
