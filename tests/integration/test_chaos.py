"""The chaos run in the suite (tests/integration/chaos.py, docs/OPERATIONS.md
"Chaos run"): a short, bounded run of calls through a lossy relay while the
desk SIPp, the trunk SIPp and seatbridged itself are SIGKILLed mid-call; then
no session is stuck, every agent is offline after the restart, no registration
older than the store's flush interval is lost, no session that ended before it
lacks its record, and a final clean call works. The seed is fixed
(SEATBRIDGE_CHAOS_SEED to try another) and printed with the report."""
import os
import unittest

from chaos import ChaosRun


class Chaos(unittest.TestCase):
    def test_chaos_under_call_load(self):
        seed = int(os.environ.get("SEATBRIDGE_CHAOS_SEED", "11"))
        run = ChaosRun(seed=seed, extensions=12, rate=6, talk_ms=2500, drop=0.05, dup=0.05, calls_per_phase=15,
                       calls_after_restart=20)
        self.addCleanup(run.close)
        try:
            run.run()
        finally:
            print(run.summary(), flush=True)
        r = run.report
        self.assertGreater(r["calls_answered"], 0)
        self.assertGreater(r["packets_dropped"], 0)
        self.assertGreater(r["packets_duplicated"], 0)
        self.assertEqual(r["restarts"], 1)
        self.assertEqual(r["peers_killed"], 2)


if __name__ == "__main__":
    unittest.main()
