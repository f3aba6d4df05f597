#!/usr/bin/env python3
"""Prints each benchmark ratio next to its goal, from criterion's output in target/criterion.

Run after `cargo bench --bench signing` and `cargo bench --bench harness`:

    python3 scripts/bench-ratios.py [--markdown]

Ratios are measured in one run on one machine, which is what makes them meaningful on noisy
machines: each figure is compared with its own limit, measured beside it.
"""
import json
import os
import platform
import signal
import sys

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "criterion")


def mean_ns(group, name):
    path = os.path.join(ROOT, group, name, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["mean"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def fmt(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main():
    m = {key: mean_ns(*key.split("/")) for key in [
        "sign/raw_hmac_sha256", "sign/request_hmac_sha256", "sign/raw_rsa_sha256", "sign/rsa_sha256",
        "sign/rsa_crate_sha256", "lst/decrypt_secret", "lst/dh_challenge_25_byte", "lst/dh_challenge_256_bit",
        "lst/shared_secret", "lst/derive", "harness/mock_verified", "harness/mock_unverified",
        "harness/runner_20_steps", "harness/reqwest_20_requests",
    ]}
    rows = []

    def ratio(label, numerator, denominator, goal, note=""):
        a, b = m.get(numerator), m.get(denominator) if isinstance(denominator, str) else denominator
        value = a / b if a is not None and b else None
        if value is None:
            verdict = "-"
        elif goal is None:
            verdict = "for comparison"
        else:
            verdict = "meets goal" if value <= goal else "MISSES goal"
        goal_text = "-" if goal is None else f"<= {goal}x"
        rows.append((label, fmt(a), fmt(b), "-" if value is None else f"{value:.2f}x", goal_text, verdict, note))

    ratio("request_hmac_sha256 / raw_hmac_sha256", "sign/request_hmac_sha256", "sign/raw_hmac_sha256", 2.0)
    ratio("rsa_sha256 / raw_rsa_sha256", "sign/rsa_sha256", "sign/raw_rsa_sha256", 1.2)
    ratio("rsa_crate_sha256 / raw_rsa_sha256", "sign/rsa_crate_sha256", "sign/raw_rsa_sha256", None, "why the rsa crate is not used")
    # derive = K (shared_secret) + two HMAC-SHA1 over short inputs; the HMACs are ~1 µs, so the
    # primitives' sum is shared_secret plus 2 x raw_hmac_sha256 (an upper bound for HMAC-SHA1).
    parts = None
    if m["lst/shared_secret"] is not None and m["sign/raw_hmac_sha256"] is not None:
        parts = m["lst/shared_secret"] + 2 * m["sign/raw_hmac_sha256"]
    ratio("derive / (shared_secret + 2 HMAC)", "lst/derive", parts, 1.5)
    # One request per iteration, so the mock's requests/second are 1 / mean.
    verified, unverified = m["harness/mock_verified"], m["harness/mock_unverified"]
    rates = f"; {1e9 / verified:,.0f} vs {1e9 / unverified:,.0f} requests/s" if verified and unverified else ""
    ratio("mock_verified / mock_unverified", "harness/mock_verified", "harness/mock_unverified", 1.1,
          "verification cost" + rates)
    ratio("runner_20_steps / reqwest_20_requests", "harness/runner_20_steps", "harness/reqwest_20_requests", 1.2, "per-step overhead")

    markdown = "--markdown" in sys.argv
    header = ("ratio", "measured", "limit", "ratio", "goal", "verdict", "note")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        print("| benchmark | mean |")
        print("|---|---|")
        for key, value in m.items():
            print(f"| `{key}` | {fmt(value)} |")
    else:
        for row in rows:
            print(f"{row[0]:<42} {row[1]:>10} vs {row[2]:>10} = {row[3]:>7}  goal {row[4]:<8} {row[5]}  {row[6]}")
        print()
        for key, value in m.items():
            print(f"{key:<32} {fmt(value)}")
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    missing = [k for k, v in m.items() if v is None]
    if missing:
        print("not measured yet: " + ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends quietly
    main()
