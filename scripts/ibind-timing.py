#!/usr/bin/env python3
"""Times ibind (Python) on the work `cargo bench --bench signing` times in ibkr-probe, on this
machine, for the README's comparison: the per-request Authorization header (HMAC-SHA256 with the
LST) and the DH challenge (256-bit random exponent, IBKR's 2018 prime).

Needs ibind (`pip install 'ibind[oauth]'`); uses IBKR's 2018 worked example for the identity,
token and prime:

    python3 scripts/ibind-timing.py
"""
import json
import os
import secrets
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URL = "https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?conids=653400472,804155360&fields=31,84,85,86,88"


def per_call_us(statement, number):
    best = min(timeit.repeat(statement, number=number, repeat=5))
    return best / number * 1e6


def main():
    try:
        from ibind.oauth import oauth1a
    except ImportError:
        sys.exit("ibind is not installed: pip install 'ibind[oauth]'")
    with open(os.path.join(ROOT, "vectors", "ibkr-2018-oauth-example.json")) as f:
        vector = json.load(f)
    config = oauth1a.OAuth1aConfig(
        consumer_key=vector["consumer_key"],
        access_token=vector["access_token"],
        access_token_secret=vector["access_token_secret"],
        realm=vector["realm"],
        dh_prime=vector["dh_prime_hex"],
        encryption_key_fp=None,
        signature_key_fp=None,
        init_oauth=False,
        init_brokerage_session=False,
        maintain_oauth=False,
        shutdown_oauth=False,
    )
    token = vector["live_session_token"]["expect_live_session_token"]
    header = per_call_us(lambda: oauth1a.generate_oauth_headers(config, "GET", URL, live_session_token=token), 2000)
    fresh = per_call_us(lambda: (oauth1a.generate_oauth_nonce(), oauth1a.generate_request_timestamp()), 2000)
    prime = vector["dh_prime_hex"]
    exponent = secrets.token_hex(32)
    challenge = per_call_us(lambda: oauth1a.generate_dh_challenge(prime, exponent), 50)
    print(f"ibind per-request header (HMAC-SHA256):   {header:8.1f} µs")
    print(f"  of which its nonce and timestamp:       {fresh:8.1f} µs")
    print(f"ibind DH challenge (256-bit exponent):    {challenge:8.1f} µs")


if __name__ == "__main__":
    main()
