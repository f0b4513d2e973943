"""A configuration reload (SIGHUP) with a live call: the bridged call (SIPp PBX
on 127.0.0.2 -> seatbridge -> alice's SIPp desk phone 1001) stays up while the
file changes under it (an agent added, the call's own skill group changed, an
unrelated agent removed); afterwards a re-INVITE and an INFO still relay end
to end, the customer's BYE ends both legs, sessionEnded says closeBy client and
the record is in the archive (Gateway.listRecords). The reload itself is
awaited through the notify socket (RELOADING=1, READY=1)."""
import signal
import unittest

from calls import ALICE, BOB, PHONE_HOST, TRUNK_HOST, cseq, sdp_media, tag
from test_calls_races import RaceTest

CAROL = "carol@example.com"


class ReloadWithALiveCall(RaceTest):
    def reload(self, change):
        cfg = self.d.config
        change(cfg)
        self.d.write_config(cfg)
        self.d.signal(signal.SIGHUP)
        self.d.wait_notify("RELOADING=1")
        self.d.wait_notify("READY=1")

    def test_sighup_keeps_the_bridged_call_and_it_ends_as_usual(self):
        self.start(online=(ALICE, BOB))
        phone = self.desk("race_phone_reinvite_info", "phone")
        pbx = self.trunk("trunk_reload_call")
        sid = self.answered()
        pbx.wait_sent("ACK")
        phone.wait_received("ACK")

        def change(cfg):
            cfg["agents"] = [a for a in cfg["agents"] if a["userId"] != BOB]
            cfg["agents"].append({"userId": CAROL, "name": "Carol", "extension": "1003",
                                  "skillGroups": [{"id": "sales", "priority": 3}]})
            sales = next(g for g in cfg["skillGroups"] if g["id"] == "sales")
            sales.update(name="Sales EMEA", ringTimeout=7, queueTimeout=30, afterCallWork=1)
        self.reload(change)
        self.assertEqual(self.d.metric("seatbridge_config_reloads_total", {"result": "ok"}), 1, self.d.logs()[-3000:])
        agents = {a["userId"]: a for a in self.events.ok("Gateway.listAgents")["agents"]}
        self.assertEqual(set(agents), {ALICE, CAROL}, agents)
        self.assertEqual(agents[ALICE]["status"], "busy", agents[ALICE])
        self.assertNotEqual(self.events.session(sid)["state"], "ended")
        self.assertTrue(pbx.running() and phone.running(), "the call is still up")
        self.assertFalse(phone.received("BYE") or pbx.received("BYE"), "nobody was hung up")

        pbx.poke()  # now the hold re-INVITE, the INFO, then the customer's BYE
        self.success(pbx, phone)
        first, reinvite = phone.received("INVITE")[:2]
        self.assertEqual(reinvite.get("call-id"), first.get("call-id"), "the re-INVITE is in the phone's dialog")
        self.assertEqual(tag(reinvite.get("from")), tag(first.get("from")))
        self.assertIn("a=sendonly", reinvite.body)
        self.assertEqual(sdp_media(reinvite), (TRUNK_HOST, pbx.rtp_port))
        ok = [m for m in pbx.received(status=200) if cseq(m) == (2, "INVITE")][0]
        self.assertIn("a=recvonly", ok.body, "the phone's answer reached the PBX")
        self.assertEqual(sdp_media(ok), (PHONE_HOST, phone.rtp_port))
        self.assertIn("Signal=5", phone.received("INFO")[0].body)
        self.assertEqual(self.responses(pbx, "INFO"), [200], pbx.summary())
        self.assertEqual(len(phone.received("BYE")), 1, "the customer's BYE reached the phone")

        ended = self.assert_ended(sid, ALICE, "client")
        self.assertEqual(ended["data"]["closeBy"], "client")
        records = self.events.ok("Gateway.listRecords", {"userId": ALICE})["records"]
        rec = next((r for r in records if r["sessionId"] == sid), None)
        self.assertIsNotNone(rec, records)
        self.assertEqual((rec["state"], rec["endState"], rec["closeBy"]), ("ended", "ok", "client"), rec)
        self.assertEqual([o["outcome"] for o in rec["offers"]], ["answered"], rec)
        self.assert_no_stuck_leg()


if __name__ == "__main__":
    unittest.main(verbosity=2)
