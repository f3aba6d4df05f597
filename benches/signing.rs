//! Signing and the LST, each next to the limit it is measured against (see the README table).
//! Ids: `sign/{raw_hmac_sha256, request_hmac_sha256, raw_rsa_sha256, rsa_sha256, rsa_crate_sha256}`
//! and `lst/{decrypt_secret, dh_challenge_25_byte, dh_challenge_256_bit, shared_secret, derive}`.

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use ibkr_probe::client::IBKR_BASE_URL;
use ibkr_probe::oauth::request::{Identity, RequestSigner, lst_authorization};
use ibkr_probe::oauth::{
    DhExponent, DhParams, LiveSessionToken, QueryConvention, RsaPrivateKey, SigningRequest, base_string, dh, header,
    lst, lst_base_string,
};
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn vector() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/ibkr-2018-oauth-example.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("vector JSON")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().expect(key)
}

/// A typical request: a snapshot with two conids and five fields.
const URL: &str =
    "https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?conids=653400472,804155360&fields=31,84,85,86,88";
const NONCE: &str = "aecef17086308940e861";
const TIMESTAMP: &str = "1764000000";

fn signing(c: &mut Criterion) {
    let v = vector();
    let t = &v["live_session_token"];
    let identity = Identity {
        consumer_key: s(&v, "consumer_key"),
        access_token: s(&v, "access_token"),
        realm: s(&v, "realm"),
    };
    let token = LiveSessionToken::from_base64(s(t, "expect_live_session_token")).expect("LST");

    // The exact bytes the project signs, computed once; the raw limit signs the same bytes.
    let params = [
        ("oauth_consumer_key", identity.consumer_key),
        ("oauth_nonce", NONCE),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", TIMESTAMP),
        ("oauth_token", identity.access_token),
    ];
    let request = SigningRequest {
        method: "GET",
        url: URL,
        form: &[],
        oauth: &params,
    };
    let base = base_string(&request, QueryConvention::InBaseString);
    let raw_hmac = |data: &[u8]| {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token.expose_bytes()).expect("key");
        mac.update(data);
        mac.finalize().into_bytes()
    };
    // Prepared once per identity, as the client does; the timed path is everything per request.
    let signer = RequestSigner::new(identity, IBKR_BASE_URL, QueryConvention::InBaseString);
    let project = signer.authorization("GET", URL, NONCE, TIMESTAMP, &token);
    let parsed = header::parse_authorization_header(&project).expect("header");
    assert_eq!(
        parsed.get("oauth_signature"),
        Some(B64.encode(raw_hmac(base.as_bytes())).as_str()),
        "same bytes, same signature"
    );

    let mut group = c.benchmark_group("sign");
    group.bench_function("raw_hmac_sha256", |b| b.iter(|| raw_hmac(black_box(base.as_bytes()))));
    group.bench_function("request_hmac_sha256", |b| {
        b.iter(|| signer.authorization("GET", black_box(URL), black_box(NONCE), black_box(TIMESTAMP), &token))
    });

    // RSA-SHA256 over the LST request's base string, with a key parsed once.
    let key_pem = s(&v, "signature_key_pem");
    let key = RsaPrivateKey::from_pem(key_pem).expect("key");
    let enc_key = RsaPrivateKey::from_pem(s(&v, "encryption_key_pem")).expect("key");
    let secret = lst::decrypt_access_token_secret(&enc_key, s(&v, "access_token_secret")).expect("secret");
    let prepend = lst::prepend(&secret);
    let lst_url = s(t, "url");
    let challenge = s(t, "expect_dh_challenge_hex");
    let lst_params = [
        ("diffie_hellman_challenge", challenge),
        ("oauth_consumer_key", identity.consumer_key),
        ("oauth_nonce", s(t, "nonce")),
        ("oauth_signature_method", "RSA-SHA256"),
        ("oauth_timestamp", s(t, "timestamp")),
        ("oauth_token", identity.access_token),
    ];
    let lst_request = SigningRequest {
        method: "POST",
        url: lst_url,
        form: &[],
        oauth: &lst_params,
    };
    let lst_base = lst_base_string(&prepend, &lst_request, QueryConvention::InBaseString);
    let der = pem::parse(key_pem).expect("pem");
    let raw_key = aws_lc_rs::rsa::KeyPair::from_pkcs8(der.contents()).expect("pkcs8");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let raw_rsa = |data: &[u8]| {
        let mut signature = vec![0u8; raw_key.public_modulus_len()];
        raw_key
            .sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, data, &mut signature)
            .expect("sign");
        signature
    };
    let lst_header = lst_authorization(
        identity,
        lst_url,
        s(t, "nonce"),
        s(t, "timestamp"),
        challenge,
        &prepend,
        &key,
    )
    .expect("sign");
    let lst_signature = header::parse_authorization_header(&lst_header)
        .expect("header")
        .get("oauth_signature")
        .map(str::to_owned);
    assert_eq!(
        lst_signature.as_deref(),
        Some(s(t, "expect_signature")),
        "the project's LST signature is IBKR's"
    );
    assert_eq!(
        B64.encode(raw_rsa(lst_base.expose().as_bytes())),
        s(t, "expect_signature"),
        "same bytes, same signature"
    );

    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let rsa_key = rsa::RsaPrivateKey::from_pkcs8_pem(key_pem).expect("rsa crate key");
    let rsa_signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(rsa_key);
    assert_eq!(
        B64.encode(rsa_signer.sign(lst_base.expose().as_bytes()).to_bytes()),
        s(t, "expect_signature")
    );

    group.bench_function("raw_rsa_sha256", |b| {
        b.iter(|| raw_rsa(black_box(lst_base.expose().as_bytes())))
    });
    group.bench_function("rsa_sha256", |b| {
        b.iter(|| {
            lst_authorization(
                black_box(identity),
                lst_url,
                s(t, "nonce"),
                s(t, "timestamp"),
                challenge,
                &prepend,
                &key,
            )
        })
    });
    group.bench_function("rsa_crate_sha256", |b| {
        b.iter(|| rsa_signer.sign(black_box(lst_base.expose().as_bytes())))
    });
    group.finish();

    // The handshake's other steps.
    let params = DhParams::from_hex(s(&v, "dh_prime_hex"), s(&v, "dh_generator_hex")).expect("group");
    let a25 = DhExponent::from_bytes(hex::decode(s(t, "dh_random_hex")).expect("hex"));
    let a256 = DhExponent::from_bytes(vec![0xa5; 32]);
    let response = s(t, "dh_response_hex");
    let consumer = identity.consumer_key;
    let server_signature = s(t, "expect_live_session_token_signature");
    let mut group = c.benchmark_group("lst");
    group.bench_function("decrypt_secret", |b| {
        b.iter(|| lst::decrypt_access_token_secret(&enc_key, black_box(s(&v, "access_token_secret"))))
    });
    group.bench_function("dh_challenge_25_byte", |b| {
        b.iter(|| dh::challenge_hex(&params, black_box(&a25)))
    });
    group.bench_function("dh_challenge_256_bit", |b| {
        b.iter(|| dh::challenge_hex(&params, black_box(&a256)))
    });
    group.bench_function("shared_secret", |b| {
        b.iter(|| dh::shared_secret(&params, black_box(&a25), response))
    });
    group.bench_function("derive", |b| {
        b.iter(|| {
            let k = dh::shared_secret(&params, black_box(&a25), response).expect("K");
            let token = LiveSessionToken::derive(&k, &secret);
            assert!(token.validate(consumer, server_signature));
        })
    });
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
