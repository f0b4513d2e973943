"""Helpers for the trunk tests (test_trunk_register.py, test_trunk_calls.py):
the trunk's credentials, a check of a digest answer against its challenge as
a SIPp trace shows them, and a wait for a SIPp to hold its port."""
import socket

from harness import challenge_params, digest_hash, wait_for

TRUNK_USER, TRUNK_PASS, REALM = "seatbridge", "trunk-secret", "trunk.test"


def wait_bound(sipp, timeout=10):
    """Returns once the SIPp holds its UDP port (so the REGISTER seatbridge
    sends as it starts finds it): binding the port ourselves fails then."""
    def taken():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((sipp.host, sipp.port))
            return False
        except OSError:
            return True
        finally:
            s.close()
    wait_for(lambda: taken() or not sipp.running(), timeout, what=f"{sipp.name} to bind {sipp.host}:{sipp.port}")
    return sipp


def check_digest(test, request, header, challenge, user=TRUNK_USER, password=TRUNK_PASS):
    """The request's `header` answers `challenge` (a Proxy-Authenticate or
    WWW-Authenticate value) for its own method and Request-URI."""
    value = request.get(header)
    test.assertIsNotNone(value, f"no {header} in\n{request.raw}")
    ch, p = challenge_params(challenge), challenge_params(value)
    alg = ch.get("algorithm", "MD5")
    method, ruri = request.first.split()[0], request.first.split()[1]
    test.assertEqual(p.get("username"), user, value)
    test.assertEqual(p.get("realm"), ch["realm"], value)
    test.assertEqual(p.get("nonce"), ch["nonce"], value)
    test.assertEqual(p.get("uri"), ruri, "the digest uri is the Request-URI")
    test.assertEqual(p.get("algorithm", "MD5").upper(), alg.upper(), value)
    test.assertEqual(p.get("qop"), "auth", value)
    ha1 = digest_hash(alg, f"{user}:{ch['realm']}:{password}")
    ha2 = digest_hash(alg, f"{method}:{p['uri']}")
    want = digest_hash(alg, f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
    test.assertEqual(p.get("response"), want, f"a wrong digest response in {value}")
    return p
