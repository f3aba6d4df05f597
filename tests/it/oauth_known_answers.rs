//! Each `oauth` function against the values of the bundled vectors, read straight from JSON
//! (not through the project's vector loader), plus property tests against simple references.

use std::path::Path;

use base64::Engine as _;
use ibkr_probe::oauth::{
    DhExponent, DhParams, KeyFormat, LiveSessionToken, QueryConvention, RsaPrivateKey, SigningRequest, base_string, dh,
    header, lst, lst_base_string, sign,
};
use proptest::prelude::*;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn vector(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key}"))
}

const FILES: [&str; 5] = [
    "ibkr-2018-oauth-example.json",
    "k-high-bit-1.json",
    "k-short-2.json",
    "py-pkcs1-crlf-query.json",
    "py-pkcs8-demo-exponent-whitespace.json",
];

#[test]
fn keys_parse_in_both_formats_with_crlf_and_spaces() {
    let formats = [
        KeyFormat::Pkcs8,
        KeyFormat::Pkcs1,
        KeyFormat::Pkcs8,
        KeyFormat::Pkcs1,
        KeyFormat::Pkcs8,
    ];
    for (file, format) in FILES.iter().zip(formats) {
        let v = vector(file);
        let key = RsaPrivateKey::from_pem(s(&v, "signature_key_pem")).unwrap();
        assert_eq!(key.format(), format, "{file}");
        assert_eq!(key.bits(), 2048, "{file}");
        assert!(!format!("{key:?}").contains("MII"), "Debug must not print key material");
    }
    let crlf = RsaPrivateKey::from_pem(s(&vector("py-pkcs1-crlf-query.json"), "signature_key_pem")).unwrap();
    assert!(crlf.pem_notes().crlf);
    let spaced = RsaPrivateKey::from_pem(s(
        &vector("py-pkcs8-demo-exponent-whitespace.json"),
        "encryption_key_pem",
    ))
    .unwrap();
    assert!(spaced.pem_notes().stray_whitespace);
}

#[test]
fn dh_params_from_pem_and_hex_agree() {
    for file in FILES {
        let v = vector(file);
        let pem = DhParams::from_pkcs3_pem(s(&v, "dh_param_pem")).unwrap();
        let hex = DhParams::from_hex(s(&v, "dh_prime_hex"), s(&v, "dh_generator_hex")).unwrap();
        assert_eq!(pem, hex, "{file}");
        assert_eq!(DhParams::from_pkcs3_pem(&hex.to_pkcs3_pem()).unwrap(), hex);
    }
    // IBKR's 2018 group: 2045-bit prime, generator larger than the prime.
    let v = vector("ibkr-2018-oauth-example.json");
    assert_eq!(
        DhParams::from_hex(s(&v, "dh_prime_hex"), s(&v, "dh_generator_hex"))
            .unwrap()
            .prime_bits(),
        2045
    );
}

#[test]
fn every_step_matches_every_vector() {
    for file in FILES {
        let v = vector(file);
        let t = &v["live_session_token"];
        let enc_key = RsaPrivateKey::from_pem(s(&v, "encryption_key_pem")).unwrap();
        let sig_key = RsaPrivateKey::from_pem(s(&v, "signature_key_pem")).unwrap();
        let params = DhParams::from_hex(s(&v, "dh_prime_hex"), s(&v, "dh_generator_hex")).unwrap();

        let secret = lst::decrypt_access_token_secret(&enc_key, s(&v, "access_token_secret")).unwrap();
        assert_eq!(
            B64.encode(secret.expose()),
            s(&v, "expect_access_token_secret_plain_b64"),
            "{file}"
        );
        let prepend = lst::prepend(&secret);
        assert_eq!(prepend.expose(), s(&v, "expect_prepend_hex"), "{file}");

        let mut a_hex = s(t, "dh_random_hex").to_owned();
        if a_hex.len() % 2 == 1 {
            a_hex.insert(0, '0');
        }
        let a = DhExponent::from_bytes(hex::decode(a_hex).unwrap());
        let challenge = dh::challenge_hex(&params, &a);
        assert_eq!(challenge, s(t, "expect_dh_challenge_hex"), "{file}");

        let oauth = [
            ("diffie_hellman_challenge", challenge.as_str()),
            ("oauth_consumer_key", s(&v, "consumer_key")),
            ("oauth_nonce", s(t, "nonce")),
            ("oauth_signature_method", "RSA-SHA256"),
            ("oauth_timestamp", s(t, "timestamp")),
            ("oauth_token", s(&v, "access_token")),
        ];
        let request = SigningRequest {
            method: s(t, "method"),
            url: s(t, "url"),
            form: &[],
            oauth: &oauth,
        };
        let base = lst_base_string(&prepend, &request, QueryConvention::InBaseString);
        assert_eq!(base.expose(), s(t, "expect_base_string"), "{file}");
        let signature = sign::rsa_sha256(&sig_key, base.expose().as_bytes()).unwrap();
        assert_eq!(signature, s(t, "expect_signature"), "{file}");
        assert!(sign::verify_rsa_sha256(
            &sig_key.public_key_pkcs1_der(),
            base.expose().as_bytes(),
            &signature
        ));
        assert!(!sign::verify_rsa_sha256(
            &enc_key.public_key_pkcs1_der(),
            base.expose().as_bytes(),
            &signature
        ));

        let k = dh::shared_secret(&params, &a, s(t, "dh_response_hex")).unwrap();
        assert_eq!(hex::encode(k.expose()), s(t, "expect_shared_secret_hex"), "{file}");
        let token = LiveSessionToken::derive(&k, &secret);
        assert_eq!(token.to_base64().expose(), s(t, "expect_live_session_token"), "{file}");
        let lst_sig = s(t, "expect_live_session_token_signature");
        assert_eq!(token.signature(s(&v, "consumer_key")), lst_sig);
        assert!(token.validate(s(&v, "consumer_key"), lst_sig));
        assert!(token.validate(s(&v, "consumer_key"), &lst_sig.to_uppercase()));
        assert!(!token.validate("OTHERCONS", lst_sig));
        assert!(!token.validate(s(&v, "consumer_key"), "not hex"));

        for r in v["requests"].as_array().unwrap() {
            let oauth: Vec<(&str, &str)> = r["oauth"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect();
            let form: Vec<(&str, &str)> = r["form"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                        .collect()
                })
                .unwrap_or_default();
            let request = SigningRequest {
                method: s(r, "method"),
                url: s(r, "url"),
                form: &form,
                oauth: &oauth,
            };
            let base = base_string(&request, QueryConvention::InBaseString);
            assert_eq!(base, s(r, "expect_base_string"), "{file} {}", s(r, "name"));
            let signature = if oauth.iter().any(|(_, v)| *v == "RSA-SHA256") {
                sign::rsa_sha256(&sig_key, base.as_bytes()).unwrap()
            } else {
                let key = r["lst"]
                    .as_str()
                    .map(|l| LiveSessionToken::from_base64(l).unwrap())
                    .unwrap_or_else(|| token.clone());
                let sig = sign::hmac_sha256(&key, base.as_bytes());
                assert!(sign::verify_hmac_sha256(&key, base.as_bytes(), &sig));
                assert!(!sign::verify_hmac_sha256(&key, b"other", &sig));
                sig
            };
            assert_eq!(signature, s(r, "expect_signature"), "{file} {}", s(r, "name"));
        }
    }
}

#[test]
fn k_edge_cases_have_the_documented_lengths() {
    for (file, len, leading_zero) in [("k-high-bit-1.json", 257, true), ("k-short-2.json", 255, false)] {
        let v = vector(file);
        let t = &v["live_session_token"];
        let params = DhParams::from_hex(s(&v, "dh_prime_hex"), s(&v, "dh_generator_hex")).unwrap();
        let a = DhExponent::from_bytes(hex::decode(s(t, "dh_random_hex")).unwrap());
        let k = dh::shared_secret(&params, &a, s(t, "dh_response_hex")).unwrap();
        assert_eq!(k.expose().len(), len, "{file}");
        assert_eq!(k.expose()[0] == 0, leading_zero, "{file}");
    }
}

#[test]
fn wrong_keys_and_bad_input_give_errors_not_panics() {
    let v = vector("ibkr-2018-oauth-example.json");
    let sig_key = RsaPrivateKey::from_pem(s(&v, "signature_key_pem")).unwrap();
    let err = lst::decrypt_access_token_secret(&sig_key, s(&v, "access_token_secret")).unwrap_err();
    assert!(err.to_string().contains("does not decrypt"), "{err}");
    let err = lst::decrypt_access_token_secret(&sig_key, "abc").unwrap_err();
    assert!(err.to_string().contains("multiple of 4"), "{err}");
    for bad in [
        "",
        "hello",
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ] {
        assert!(RsaPrivateKey::from_pem(bad).is_err(), "{bad}");
    }
    assert!(DhParams::from_pkcs3_pem(s(&v, "signature_key_pem")).is_err());
    assert!(DhParams::from_hex("17", "2").is_err(), "tiny primes are refused");
}

#[test]
fn nonces_and_timestamps() {
    struct Fixed(u8);
    impl ibkr_probe::oauth::RandomSource for Fixed {
        fn fill(&mut self, dest: &mut [u8]) -> Result<(), ibkr_probe::oauth::Error> {
            dest.fill(self.0);
            Ok(())
        }
    }
    assert_eq!(header::nonce(&mut Fixed(0xab)).unwrap(), "abababababababababab");
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_473_793_702);
    assert_eq!(header::timestamp(now), "1473793702");
    let a = DhExponent::generate(&mut Fixed(1), dh::IBKR_DEMO_EXPONENT_BYTES).unwrap();
    assert!(!format!("{a:?}").contains('1'));
}

/// A deliberately naive encoder, written from RFC 3986's unreserved set, to check ours against.
fn reference_encode(input: &str) -> String {
    let mut out = String::new();
    for b in input.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-._~".contains(c) {
            out.push(c);
        } else if c == ' ' {
            out.push('+');
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

fn reference_base_string(method: &str, url: &str, pairs: &[(String, String)]) -> String {
    let mut joined: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    joined.sort();
    format!(
        "{method}&{}&{}",
        reference_encode(url),
        reference_encode(&joined.join("&"))
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn base_string_matches_a_naive_reference(
        method in "(GET|POST|DELETE)",
        path in "/[a-z/]{0,20}",
        form in proptest::collection::vec(("[A-Za-z_]{1,8}", "\\PC{0,16}"), 0..5),
        oauth in proptest::collection::vec(("oauth_[a-z]{1,8}", "[ -~]{0,16}"), 0..5),
    ) {
        let url = format!("https://api.ibkr.com/v1/api{path}");
        let form_refs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let oauth_refs: Vec<(&str, &str)> = oauth.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = SigningRequest { method: &method, url: &url, form: &form_refs, oauth: &oauth_refs };
        let all: Vec<(String, String)> = form.iter().chain(oauth.iter()).cloned().collect();
        prop_assert_eq!(base_string(&request, QueryConvention::InBaseString), reference_base_string(&method, &url, &all));
    }

    #[test]
    fn query_in_url_equals_the_same_pairs_as_form(
        pairs in proptest::collection::vec(("[a-z]{1,6}", "[A-Za-z0-9 ,:/]{0,12}"), 1..5),
    ) {
        let query: Vec<String> = pairs
            .iter()
            .map(|(n, v)| format!("{n}={}", ibkr_probe::oauth::encode::percent_encode(v, ibkr_probe::oauth::encode::Space::Percent)))
            .collect();
        let url = format!("https://h/p?{}", query.join("&"));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let in_query = SigningRequest { method: "GET", url: &url, form: &[], oauth: &[] };
        let as_form = SigningRequest { method: "GET", url: "https://h/p", form: &refs, oauth: &[] };
        prop_assert_eq!(base_string(&in_query, QueryConvention::InBaseString), base_string(&as_form, QueryConvention::InBaseString));
        prop_assert_eq!(base_string(&in_query, QueryConvention::UrlOnly), "GET&https%3A%2F%2Fh%2Fp&");
    }
}
