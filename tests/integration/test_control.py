"""Issue 4: the control protocol through the real socket: ready/tabUUID, events
with a daemon-wide seq reaching every subscriber, subscriptions and login, every
bad-input class answered with its errorCode, resume, gateway device-state events
and the control metrics."""
import json
import time
import unittest

from harness import Daemon, SipPhone, wait_for

ALICE = "alice@example.com"
BOB = "bob@example.com"


class ControlProtocol(unittest.TestCase):
    def setUp(self):
        self.d = Daemon().start()
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.d.close()

    def client(self, subscribe=None):
        c = self.d.control()
        self.clients.append(c)
        ready = c.read()
        self.assertEqual(ready["event"], "ready")
        if subscribe is not None:
            self.assertEqual(c.call("Client.subscribe", subscribe)["status"], "success")
        return c

    def ok(self, c, method, params=None):
        r = c.call(method, params)
        self.assertEqual(r["status"], "success", r)
        return r["data"]

    def test_ready_names_each_connection_with_its_own_tab_uuid(self):
        readies = []
        for _ in range(4):
            c = self.d.control()
            self.clients.append(c)
            readies.append(c.read())
        tabs = [r["data"]["tabUUID"] for r in readies]
        for r in readies:
            self.assertEqual(r["event"], "ready")
            self.assertRegex(r["data"]["tabUUID"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        # Nothing happened yet: every ready carries the same last seq, this run's base.
        self.assertEqual(len({r["seq"] for r in readies}), 1)
        self.assertGreater(readies[0]["seq"], 0)
        self.assertEqual(len(set(tabs)), 4)
        # Client.login echoes the connection's own tab.
        data = self.ok(self.clients[2], "Client.login", {"userId": ALICE})
        self.assertEqual(data["tabUUID"], tabs[2])

    def test_status_change_reaches_every_subscriber_with_rising_seq(self):
        everyone = [self.client({"all": True}) for _ in range(3)]
        alices = self.client({"userIds": [ALICE]})
        bobs = self.client({"userIds": [BOB]})
        quiet = self.client()  # no subscription: no numbered events
        actor = self.client()
        self.ok(actor, "Agent.online", {"userId": ALICE})
        self.ok(actor, "Agent.setStatus", {"userId": ALICE, "status": "rest", "restReason": "Meal"})
        self.ok(actor, "Agent.setStatus", {"userId": ALICE, "status": "notReady"})
        self.ok(actor, "Agent.online", {"userId": BOB})
        for c in everyone + [alices]:
            got = c.events(3, "statusChanged")
            self.assertEqual([e["data"]["status"] for e in got], ["free", "rest", "notReady"])
            self.assertEqual([e["userId"] for e in got], [ALICE] * 3)
            self.assertEqual(got[1]["data"]["restReason"], "Meal")
            seqs = [e["seq"] for e in got]
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 3)), "seq rises by one")
        for c in everyone:
            self.assertEqual(c.read()["userId"], BOB)
        first_of_bob = bobs.read()
        self.assertEqual((first_of_bob["event"], first_of_bob["userId"]), ("statusChanged", BOB))
        self.assertEqual(first_of_bob["seq"], seqs[-1] + 1)
        # The unsubscribed connection got nothing but its answers; ready carries the position.
        self.assertEqual(quiet.call("Gateway.status")["data"]["lastSeq"], seqs[-1] + 1)
        self.assertEqual(quiet.stash, [])
        late = self.d.control()
        self.clients.append(late)
        self.assertEqual(late.read()["seq"], seqs[-1] + 1)

    def test_every_bad_input_gets_its_error_code_and_the_connection_stays(self):
        c = self.client()
        cases = [
            ("{not json", "badRequest"),
            ("[1,2]", "badRequest"),
            ('{"id":1}', "badRequest"),
            ('{"id":2,"method":7}', "badRequest"),
            ('{"id":3,"method":"Agent.fly"}', "unknownMethod"),
            ('{"id":4,"method":"Agent.setStatus","params":{"userId":"%s"}}' % ALICE, "missingParam"),
            ('{"id":5,"method":"Agent.setStatus","params":{"status":"free"}}', "missingParam"),
            ('{"id":6,"method":"Agent.setStatus","params":{"userId":"%s","status":5}}' % ALICE, "invalidParams"),
            ('{"id":7,"method":"Agent.setStatus","params":{"userId":"%s","status":"asleep"}}' % ALICE, "invalidParams"),
            ('{"id":8,"method":"Agent.setStatus","params":{"userId":"%s","status":"free","colour":1}}' % ALICE,
             "unknownParam"),
            ('{"id":9,"method":"Gateway.status","params":[1]}', "invalidParams"),
            ('{"id":10,"method":"Agent.online","params":{"userId":"nobody@example.com"}}', "agentNotFound"),
            ('{"id":11,"method":"Agent.setStatus","params":{"userId":"%s","status":"free"}}' % ALICE, "agentOffline"),
            ('{"id":12,"method":"Call.hungUp","params":{"userId":"%s","sessionId":"no-such"}}' % ALICE,
             "sessionNotFound"),
            ('{"id":13,"method":"Call.startOutboundCall","params":{"userId":"%s","phoneNumber":"+15550100"}}' % ALICE,
             "agentOffline"),
            ('{"id":14,"method":"Call.sendDigits","params":{"userId":"%s","sessionId":"s"}}' % ALICE, "missingParam"),
            ('{"id":15,"method":"Call.startInternalCall","params":{"userId":"%s","calleeUserId":"x"}}' % ALICE,
             "agentNotFound"),
            ('{"id":16,"method":"Client.resume","params":{"fromSeq":1}}', "notSubscribed"),
            ('{"id":17,"method":"Client.subscribe","params":{}}', "missingParam"),
            ('{"id":18,"method":"Client.subscribe","params":{"userIds":["nobody"]}}', "agentNotFound"),
            ('{"id":19,"method":"Call.deleteCall","params":{"userId":"%s","sessionId":"s"}}' % ALICE,
             "sessionNotFound"),
            ('{"id":20,"method":"Client.resume","params":{"fromSeq":"1"}}', "invalidParams"),
        ]
        for line, code in cases:
            c.send_raw(line + "\n")
            answer = c.read()
            self.assertEqual(answer["status"], "error", line)
            self.assertEqual(answer["errorCode"], code, f"{line}: {answer}")
            self.assertTrue(answer["errorMsg"], line)
            sent = json.loads(line) if line.startswith("{\"id\"") else None
            self.assertEqual(answer["id"], sent["id"] if sent else None, line)
        # An over-long line, then the connection still works.
        c.send_raw(b"{" + b"x" * (70 * 1024) + b"}\n")
        answer = c.read()
        self.assertEqual((answer["errorCode"], answer["id"]), ("lineTooLong", None))
        self.assertEqual(c.call("Gateway.status")["status"], "success")
        # Every error was counted, by method (unknown names are not labels).
        self.assertGreaterEqual(
            self.d.metric("seatbridge_control_requests_total", {"method": "Agent.setStatus", "status": "error"}), 6)
        self.assertIsNone(self.d.metric("seatbridge_control_requests_total", {"method": "Agent.fly", "status": "error"}))

    def test_connections_over_the_limit_are_told_and_closed(self):
        for _ in range(256):  # Limits::maxClients
            self.client()
        over = self.d.control()
        self.clients.append(over)
        answer = over.read()
        self.assertEqual((answer["status"], answer["errorCode"]), ("error", "tooManyClients"))
        with self.assertRaises(EOFError):
            over.read()
        self.assertEqual(self.d.metric("seatbridge_control_clients"), 256)
        # One leaves, and a new client is served again.
        self.clients.pop(0).close()
        self.clients.pop().close()
        wait_for(lambda: self.d.metric("seatbridge_control_clients") == 255, what="the closed client to be gone")
        again = self.client()
        self.assertEqual(again.call("Gateway.status")["status"], "success")

    def test_login_binds_the_connection_to_one_agent(self):
        c = self.client()
        self.ok(c, "Client.login", {"userId": ALICE})
        data = self.ok(c, "Agent.online")
        self.assertEqual((data["userId"], data["status"]), (ALICE, "free"))
        ev = c.wait_event("statusChanged")  # a bound connection follows its agent
        self.assertEqual((ev["userId"], ev["data"]["status"]), (ALICE, "free"))
        self.assertEqual(c.call("Agent.online", {"userId": BOB})["errorCode"], "userMismatch")
        self.assertEqual(c.call("Client.login", {"userId": BOB})["errorCode"], "userMismatch")
        self.assertEqual(self.client().call("Client.login", {"userId": "x"})["errorCode"], "agentNotFound")
        self.assertEqual(self.ok(c, "Agent.getStatus")["status"], "free")

    def test_resume_replays_from_a_seq(self):
        a = self.client({"all": True})
        self.ok(a, "Agent.online", {"userId": ALICE})
        for status in ("rest", "free", "notReady", "free"):
            self.ok(a, "Agent.setStatus", {"userId": ALICE, "status": status})
        seen = a.events(5, "statusChanged")
        first = seen[0]["seq"]
        b = self.client({"userIds": [ALICE]})
        answer = b.call("Client.resume", {"fromSeq": first + 1})
        self.assertEqual(answer["status"], "success", answer)
        self.assertEqual(answer["data"], {"fromSeq": first + 1, "toSeq": first + 4, "replayed": 4})
        replay = b.events(4)
        self.assertEqual(replay, seen[1:], "the same lines, same seqs")
        # Live events continue after the replay.
        self.ok(a, "Agent.setStatus", {"userId": ALICE, "status": "rest"})
        self.assertEqual(b.read()["seq"], first + 5)
        self.assertEqual(b.call("Client.resume", {"fromSeq": first + 99})["errorCode"], "resumeUnavailable")
        self.assertEqual(b.call("Client.resume", {"fromSeq": first + 6})["data"]["replayed"], 0)

    def test_seq_keeps_rising_across_a_restart_and_an_old_seq_cannot_be_resumed(self):
        a = self.client({"all": True})
        self.ok(a, "Agent.online", {"userId": ALICE})
        before = a.wait_event("statusChanged")["seq"]
        a.close()
        self.clients.remove(a)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        b = self.d.control()
        self.clients.append(b)
        ready = b.read()
        self.assertGreater(ready["seq"], before, "a new run numbers after the old one")
        self.assertEqual(b.call("Client.subscribe", {"all": True})["status"], "success")
        # The client's next seq is from the earlier run: it must re-read the state,
        # not be replayed this run's events under old numbers.
        self.assertEqual(b.call("Client.resume", {"fromSeq": before + 1})["errorCode"], "resumeUnavailable")
        self.assertEqual(b.call("Client.resume", {"fromSeq": ready["seq"] + 1})["data"]["replayed"], 0)

    def test_device_state_events_and_list_extensions(self):
        watcher = self.client({"all": True})
        alices = self.client({"userIds": [ALICE]})
        phone = SipPhone(self.d.sip_port, "1001", "pw-1001")
        other = SipPhone(self.d.sip_port, "1001", "pw-1001")  # a second desk phone on the same line
        try:
            before_ms = time.time() * 1000
            self.assertEqual(phone.register().status, 200)
            ev = watcher.wait_event("extensionRegistered")
            self.assertEqual(ev["userId"], ALICE)
            # Lean events: a count, not the contacts (the history holds every event).
            self.assertEqual(ev["data"], {"extensionId": "1001", "userId": ALICE, "registered": True,
                                          "reachable": True, "deviceState": "idle", "contactCount": 1})
            self.assertEqual(alices.wait_event("extensionRegistered")["seq"], ev["seq"])

            # The contacts come from the registrar, merged in by the daemon.
            rows = {e["extensionId"]: e for e in self.ok(watcher, "Gateway.listExtensions")["extensions"]}
            self.assertTrue(rows["1001"]["registered"])
            [c] = rows["1001"]["contacts"]
            self.assertEqual((c["uri"], c["source"], c["userAgent"], c["reachable"]),
                             (f"sip:1001@127.0.0.1:{phone.port}", f"udp:127.0.0.1:{phone.port}",
                              "seatbridge-test-phone", True))
            self.assertGreaterEqual(c["expiresAt"], before_ms + 590_000)  # defaultExpires 600 s
            self.assertLessEqual(c["expiresAt"], time.time() * 1000 + 600_000)
            self.assertFalse(rows["1002"]["registered"])
            self.assertEqual(rows["1002"]["contacts"], [])

            # A refresh is silent: the next event on the stream is the second phone's.
            self.assertEqual(phone.register().status, 200)
            self.assertEqual(other.register().status, 200)
            [nxt] = watcher.events(1)
            self.assertEqual((nxt["event"], nxt["data"]["contactCount"]), ("extensionRegistered", 2))
            rows = {e["extensionId"]: e for e in self.ok(watcher, "Gateway.listExtensions")["extensions"]}
            self.assertEqual({c["uri"] for c in rows["1001"]["contacts"]},
                             {f"sip:1001@127.0.0.1:{phone.port}", f"sip:1001@127.0.0.1:{other.port}"})

            # One phone leaves: the line stays registered with one binding.
            self.assertEqual(phone.register(expires=0).status, 200)
            [nxt] = watcher.events(1)
            self.assertEqual((nxt["event"], nxt["data"]["contactCount"]), ("extensionRegistered", 1))
            self.assertEqual(other.register(expires=0).status, 200)
            gone = watcher.wait_event("extensionUnregistered")
            self.assertEqual(gone["data"], {"extensionId": "1001", "userId": ALICE, "registered": False,
                                            "reachable": False, "deviceState": "offline", "contactCount": 0,
                                            "reason": "unregistered"})
            self.assertGreater(gone["seq"], ev["seq"])
            rows = {e["extensionId"]: e for e in self.ok(watcher, "Gateway.listExtensions")["extensions"]}
            self.assertEqual(rows["1001"]["contacts"], [])
        finally:
            phone.close()
            other.close()

    def test_agent_and_client_metrics(self):
        c = self.client()
        self.client()
        self.assertEqual(self.d.metric("seatbridge_control_clients"), 2)
        self.assertEqual(self.d.metric("seatbridge_agents", {"status": "offline"}), 2)
        self.ok(c, "Agent.online", {"userId": ALICE})
        self.ok(c, "Agent.setStatus", {"userId": ALICE, "status": "rest"})
        self.assertEqual(self.d.metric("seatbridge_agents", {"status": "rest"}), 1)
        self.assertEqual(self.d.metric("seatbridge_agents", {"status": "offline"}), 1)
        self.assertEqual(
            self.d.metric("seatbridge_control_requests_total", {"method": "Agent.setStatus", "status": "success"}), 1)
        self.assertEqual(self.d.metric("seatbridge_control_events_dropped_total"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
