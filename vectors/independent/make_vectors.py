#!/usr/bin/env python3
"""Writes extra format-1 vector files with Python's `cryptography` and the standard library only.

These expectations are computed independently of ibkr-probe's Rust code (a different language,
different RSA and big-integer implementations), so `ibkr-probe vectors verify` checking them is a
real cross-check. Run from the repository root:

    pip install cryptography && python3 vectors/independent/make_vectors.py

Every run draws fresh keys and values; the committed files are one such run.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
from urllib.parse import quote_plus, urlsplit, parse_qsl

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# RFC 7919 ffdhe2048 (generator 2).
FFDHE2048_P = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)


def enc(text: str) -> str:
    """Percent-encode all but A-Za-z0-9-._~, space as '+' (the vector-format rule)."""
    return quote_plus(text, safe="")


def base_string(method, url, form, oauth):
    parts = urlsplit(url)
    base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    pairs = parse_qsl(parts.query, keep_blank_values=True) + list(form) + list(oauth.items())
    joined = "&".join(sorted(f"{k}={v}" for k, v in pairs))
    return f"{method}&{enc(base_url)}&{enc(joined)}"


def java_bytes(n: int) -> bytes:
    """BigInteger.toByteArray() for n >= 0."""
    return n.to_bytes(n.bit_length() // 8 + 1, "big")


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def pkcs3_pem(p: int, g: int) -> str:
    """PKCS#3 DHParameter DER by hand: `cryptography` writes X9.42 for groups without q."""
    ints = b"".join(b"\x02" + der_len(len(java_bytes(x))) + java_bytes(x) for x in (p, g))
    der = b"\x30" + der_len(len(ints)) + ints
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines) + "\n-----END DH PARAMETERS-----\n"


def pem_private(key, fmt, crlf=False, indent=""):
    text = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
    if indent:
        text = "\n".join(indent + line + " " if line else line for line in text.split("\n"))
    return text.replace("\n", "\r\n") if crlf else text


def make(name, description, consumer_key, realm, key_format, exponent_bytes, requests, crlf=False, indent=""):
    sig_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p, g = FFDHE2048_P, 2
    dh_pem = pkcs3_pem(p, g)

    access_token = secrets.token_hex(10)
    secret_plain = os.urandom(32)
    secret_cipher = enc_key.public_key().encrypt(secret_plain, padding.PKCS1v15())
    prepend = secret_plain.hex()

    a = int.from_bytes(os.urandom(exponent_bytes), "big") | 1
    challenge = format(pow(g, a, p), "x")
    lst_url = "https://api.ibkr.com/v1/api/oauth/live_session_token"
    nonce, timestamp = secrets.token_hex(10), "1764000000"
    lst_oauth = {
        "diffie_hellman_challenge": challenge,
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": "RSA-SHA256",
        "oauth_timestamp": timestamp,
        "oauth_token": access_token,
    }
    lst_base = prepend + base_string("POST", lst_url, [], lst_oauth)
    lst_sig = sig_key.sign(lst_base.encode(), padding.PKCS1v15(), hashes.SHA256())

    b_secret = int.from_bytes(os.urandom(32), "big")
    b = pow(g, b_secret, p)
    k = java_bytes(pow(b, a, p))
    lst = hmac.new(k, secret_plain, hashlib.sha1).digest()
    lst_signature = hmac.new(lst, consumer_key.encode(), hashlib.sha1).hexdigest()

    out_requests = []
    for req in requests:
        oauth = {
            "oauth_consumer_key": consumer_key,
            "oauth_nonce": secrets.token_hex(10),
            "oauth_signature_method": "HMAC-SHA256",
            "oauth_timestamp": "1764000100",
            "oauth_token": access_token,
        }
        form = req.get("form", [])
        bs = base_string(req["method"], req["url"], form, oauth)
        sig = hmac.new(lst, bs.encode(), hashlib.sha256).digest()
        entry = {"name": req["name"], "method": req["method"], "url": req["url"]}
        if form:
            entry["form"] = [list(pair) for pair in form]
        entry.update({"oauth": oauth, "expect_base_string": bs, "expect_signature": base64.b64encode(sig).decode()})
        out_requests.append(entry)

    return {
        "format": 1,
        "name": name,
        "description": description + " Written by vectors/independent/make_vectors.py (Python cryptography + stdlib).",
        "consumer_key": consumer_key,
        "realm": realm,
        "signature_key_pem": pem_private(sig_key, key_format, crlf, indent),
        "encryption_key_pem": pem_private(enc_key, key_format, crlf, indent),
        "dh_param_pem": dh_pem,
        "dh_prime_hex": format(p, "x"),
        "dh_generator_hex": format(g, "x"),
        "access_token": access_token,
        "access_token_secret": base64.b64encode(secret_cipher).decode(),
        "expect_access_token_secret_plain_b64": base64.b64encode(secret_plain).decode(),
        "expect_prepend_hex": prepend,
        "live_session_token": {
            "method": "POST",
            "url": lst_url,
            "nonce": nonce,
            "timestamp": timestamp,
            "dh_random_hex": format(a, "x"),
            "expect_dh_challenge_hex": challenge,
            "expect_base_string": lst_base,
            "expect_signature": base64.b64encode(lst_sig).decode(),
            "dh_response_hex": format(b, "x"),
            "expect_shared_secret_hex": k.hex(),
            "expect_live_session_token": base64.b64encode(lst).decode(),
            "expect_live_session_token_signature": lst_signature,
        },
        "requests": out_requests,
    }


def main():
    out_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cases = [
        make(
            "py-pkcs1-crlf-query",
            "PKCS#1 keys with CRLF line endings, ffdhe2048, a 256-bit exponent, query values with commas and spaces.",
            "BEARHEDGE",
            "limited_poa",
            serialization.PrivateFormat.TraditionalOpenSSL,
            32,
            [
                {"name": "snapshot with comma lists", "method": "GET",
                 "url": "https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?conids=653400472,804155360&fields=31,84,86"},
                {"name": "search with a space", "method": "GET",
                 "url": "https://api.ibkr.com/v1/api/iserver/secdef/search?symbol=BRK%20B&name=false"},
                {"name": "form body", "method": "POST", "url": "https://api.ibkr.com/v1/api/tickle",
                 "form": [("note", "a b/c"), ("a_", "1"), ("a", "2")]},
            ],
            crlf=True,
        ),
        make(
            "py-pkcs8-demo-exponent-whitespace",
            "PKCS#8 keys with stray spaces around PEM lines, ffdhe2048, a 25-byte exponent as IBKR's JS demo draws.",
            "TESTCONS",
            "test_realm",
            serialization.PrivateFormat.PKCS8,
            25,
            [{"name": "accounts", "method": "GET", "url": "https://api.ibkr.com/v1/api/iserver/accounts"}],
            indent="  ",
        ),
    ]
    for case in cases:
        path = os.path.join(out_dir, case["name"] + ".json")
        with open(path, "w") as f:
            json.dump(case, f, indent=2)
            f.write("\n")
        print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
