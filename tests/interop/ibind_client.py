#!/usr/bin/env python3
"""An independent client against the ibkr-probe mock: Voyz/ibind, which signs URLs without their
query parameters and sends `Host: api.ibkr.com` while signing the mock's own address.

Reads the credential set written by `ibkr-probe keys generate DIR` (DIR/ibkr.env) and the mock's
base URL, then runs the guide's flow. Prints one JSON document with what it saw; exits non-zero on
any failure. Used by tests/ibind_interop.rs; runnable by hand:

    python3 tests/interop/ibind_client.py DIR http://127.0.0.1:5000/v1/api/
"""
import json
import os
import sys


def load_env(path):
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def main():
    cred_dir, base_url = sys.argv[1], sys.argv[2]
    env = load_env(os.path.join(cred_dir, "ibkr.env"))
    with open(os.path.join(cred_dir, "mock-server.json")) as f:
        pem = json.load(f)["dh_param_pem"]
    # ibind wants the prime as hex; take it from the PKCS#3 file with the standard library only.
    import base64
    der = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))
    # SEQUENCE { INTEGER p, INTEGER g }: skip the SEQUENCE header, read the first INTEGER.
    pos = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    assert der[pos] == 0x02
    length_byte = der[pos + 1]
    if length_byte & 0x80:
        n = length_byte & 0x7F
        length = int.from_bytes(der[pos + 2 : pos + 2 + n], "big")
        start = pos + 2 + n
    else:
        length, start = length_byte, pos + 2
    prime_hex = format(int.from_bytes(der[start : start + length], "big"), "x")

    os.environ.update(
        {
            "IBIND_USE_OAUTH": "True",
            "IBIND_OAUTH1A_REST_URL": base_url,
            "IBIND_OAUTH1A_CONSUMER_KEY": env["IB_CONSUMER_KEY"],
            "IBIND_OAUTH1A_ACCESS_TOKEN": env["IB_ACCESS_TOKEN"],
            "IBIND_OAUTH1A_ACCESS_TOKEN_SECRET": env["IB_ACCESS_TOKEN_SECRET"],
            "IBIND_OAUTH1A_SIGNATURE_KEY_FP": env["IB_SIGNATURE_KEY_PATH"],
            "IBIND_OAUTH1A_ENCRYPTION_KEY_FP": env["IB_ENCRYPTION_KEY_PATH"],
            "IBIND_OAUTH1A_DH_PRIME": prime_hex,
            "IBIND_OAUTH1A_REALM": env["IB_REALM"],
            "IBIND_MAINTAIN_OAUTH": "False",
            "IBIND_AUTO_REGISTER_SHUTDOWN": "False",
            "IBIND_LOG_TO_FILE": "False",
        }
    )
    from ibind import IbkrClient  # imported after the environment is set: ibind reads it at import

    client = IbkrClient(use_oauth=True, timeout=10, max_retries=1)  # LST, validation, ssodh/init
    seen = {"lst_validated": True}
    seen["accounts"] = client.receive_brokerage_accounts().data["accounts"]
    seen["search_conid"] = client.search_contract_by_symbol("ARM").data[0]["conid"]
    strikes = client.search_strikes_by_conid("653400472", "OPT", "AUG25").data
    seen["has_143_call"] = 143.0 in strikes["call"]
    info = client.search_secdef_info_by_conid("653400472", "OPT", "AUG25", strike="143", right="C").data
    seen["info_conids"] = [c["conid"] for c in info]
    first = client.live_marketdata_snapshot(["804155360"], ["31", "84", "85", "86"]).data
    second = client.live_marketdata_snapshot(["804155360"], ["31", "84", "85", "86"]).data
    seen["first_snapshot_keys"] = sorted(first[0].keys())
    seen["second_snapshot"] = {k: second[0].get(k) for k in ("31", "84", "85", "86")}
    seen["tickle_authenticated"] = client.tickle().data["iserver"]["authStatus"]["authenticated"]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
