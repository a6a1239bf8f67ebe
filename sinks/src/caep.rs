//! Signing CAEP Security Event Tokens: compact JWS with `typ` `secevent+jwt` and the
//! configured `kid`, RS256 (the CAEP interoperability profile's algorithm; keys of 2048
//! bits or more) or ES256, and the JWK Set receivers verify them with.
//!
//! Both algorithms are deterministic (RSASSA-PKCS1-v1_5; ECDSA with RFC 6979 nonces), so
//! the same SET signed twice is the same token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use vigil_schemas::caep::SecurityEventToken;

/// Why a signing key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaepKeyError {
    /// Neither an RSA nor a P-256 private key in PEM.
    #[error("not an RSA or P-256 private key in PEM (PKCS#8, or PKCS#1 for RSA)")]
    Unreadable,
    /// An RSA key too short for the CAEP interoperability profile.
    #[error("RSA key of {0} bits: RS256 needs at least 2048")]
    TooShort(usize),
}

#[derive(Clone)]
enum Key {
    /// RS256: signed by OpenSSL (the same library librdkafka and the HTTPS client use):
    /// `cargo bench --bench ssf` signed and appended 161 SETs/s with the pure-Rust `rsa`
    /// crate, 888-1,285 with OpenSSL (2026-12-07, 2 cores). The `rsa` crate's key stays
    /// as the fallback and gives the public key.
    Rs256 {
        pure: Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>,
        public: rsa::RsaPublicKey,
        openssl: Option<openssl::pkey::PKey<openssl::pkey::Private>>,
    },
    Es256(Box<p256::ecdsa::SigningKey>),
}

/// An RS256 signature by OpenSSL (None if OpenSSL refuses: the caller falls back).
fn openssl_rs256(
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    data: &[u8],
) -> Option<Vec<u8>> {
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key).ok()?;
    signer.set_rsa_padding(openssl::rsa::Padding::PKCS1).ok()?;
    signer.update(data).ok()?;
    signer.sign_to_vec().ok()
}

/// Signs SETs with one key.
#[derive(Clone)]
pub struct Signer {
    key: Key,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Signer({} {})", self.algorithm(), self.kid)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Signer {
    /// A signer from a PEM private key (RSA: RS256; P-256: ES256) published as `kid`.
    pub fn from_pem(pem: &str, kid: &str) -> Result<Signer, CaepKeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem));
        let key = match rsa {
            Ok(private) => {
                let bits = private.size() * 8;
                if bits < 2048 {
                    return Err(CaepKeyError::TooShort(bits));
                }
                let public = private.to_public_key();
                Key::Rs256 {
                    pure: Box::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private)),
                    public,
                    openssl: openssl::pkey::PKey::private_key_from_pem(pem.as_bytes()).ok(),
                }
            }
            Err(_) => Key::Es256(Box::new(
                p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|_| CaepKeyError::Unreadable)?,
            )),
        };
        Ok(Signer {
            key,
            kid: kid.to_string(),
        })
    }

    /// A new RSA key of 2048 bits (RS256), made for this process only (the demo's): never
    /// written anywhere, so no two runs share it. Published under its thumbprint.
    pub fn generate_rs256() -> Result<Signer, CaepKeyError> {
        let pem = openssl::rsa::Rsa::generate(2048)
            .and_then(openssl::pkey::PKey::from_rsa)
            .and_then(|key| key.private_key_to_pem_pkcs8())
            .map_err(|_| CaepKeyError::Unreadable)?;
        let pem = String::from_utf8(pem).map_err(|_| CaepKeyError::Unreadable)?;
        let signer = Signer::from_pem(&pem, "")?;
        let kid = signer.thumbprint();
        Ok(signer.with_kid(kid))
    }

    /// The same key published as `kid`.
    pub fn with_kid(mut self, kid: String) -> Signer {
        self.kid = kid;
        self
    }

    /// The key id receivers find the key by.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key's JWK members that RFC 7638 hashes, as JSON.
    fn public_jwk(&self) -> serde_json::Value {
        match &self.key {
            Key::Rs256 { public, .. } => serde_json::json!({
                "kty": "RSA",
                "n": b64(&public.n().to_bytes_be()),
                "e": b64(&public.e().to_bytes_be()),
            }),
            Key::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                serde_json::json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(point.x().map(|x| &x[..]).unwrap_or_default()),
                    "y": b64(point.y().map(|y| &y[..]).unwrap_or_default()),
                })
            }
        }
    }

    /// The key's JWK thumbprint (RFC 7638: SHA-256 over the required members in
    /// lexicographic order, no whitespace; base64url): the `kid` when none is configured,
    /// so a new key gets a new id and receivers never verify with a stale one.
    pub fn thumbprint(&self) -> String {
        use sha2::Digest as _;
        let jwk = self.public_jwk();
        let member = |name: &str| jwk[name].as_str().unwrap_or_default().to_string();
        // Written out, not serialized: the members' order is the RFC's, whatever order a
        // JSON map keeps (the values are base64url and names, nothing to escape).
        let canonical = match &self.key {
            Key::Rs256 { .. } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member("e"),
                member("n")
            ),
            Key::Es256(_) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                member("x"),
                member("y")
            ),
        };
        b64(&sha2::Sha256::digest(canonical.as_bytes()))
    }

    /// `RS256` or `ES256`.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Rs256 { .. } => "RS256",
            Key::Es256(_) => "ES256",
        }
    }

    /// The compact JWS of a SET.
    pub fn sign(&self, set: &SecurityEventToken) -> String {
        let header =
            serde_json::json!({ "alg": self.algorithm(), "typ": "secevent+jwt", "kid": self.kid });
        let claims = serde_json::to_vec(set).unwrap_or_default();
        let mut token = format!("{}.{}", b64(header.to_string().as_bytes()), b64(&claims));
        let signature = match &self.key {
            Key::Rs256 { pure, openssl, .. } => {
                match openssl
                    .as_ref()
                    .and_then(|key| openssl_rs256(key, token.as_bytes()))
                {
                    Some(signature) => b64(&signature),
                    None => {
                        let signature: rsa::pkcs1v15::Signature = pure.sign(token.as_bytes());
                        b64(&rsa::signature::SignatureEncoding::to_bytes(&signature))
                    }
                }
            }
            Key::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(token.as_bytes());
                b64(&signature.to_bytes())
            }
        };
        token.push('.');
        token.push_str(&signature);
        token
    }

    /// The JWK Set receivers verify SETs with (publish it at the transmitter's
    /// `jwks_uri`).
    pub fn jwks(&self) -> serde_json::Value {
        let key = self.public_jwk();
        let mut key = key;
        key["kid"] = self.kid.clone().into();
        key["use"] = "sig".into();
        key["alg"] = self.algorithm().into();
        serde_json::json!({ "keys": [key] })
    }
}

/// Why a SET did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not three base64url parts with JSON header and claims.
    #[error("not a compact JWS with JSON header and claims")]
    Malformed,
    /// No key in the set has the token's `kid` and `alg`.
    #[error("no key `{0}` for the token's algorithm in the JWK Set")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("the signature does not verify")]
    BadSignature,
}

/// Verifies a compact SET against a JWK Set (as [`Signer::jwks`] publishes it) and returns
/// its claims: what a receiver does with every SET it gets.
pub fn verify(token: &str, jwks: &serde_json::Value) -> Result<serde_json::Value, VerifyError> {
    use p256::ecdsa::signature::Verifier as _;
    let (signed, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let (header, claims) = signed.split_once('.').ok_or(VerifyError::Malformed)?;
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| VerifyError::Malformed)
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| VerifyError::Malformed)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&decode(claims)?).map_err(|_| VerifyError::Malformed)?;
    let signature = decode(signature)?;
    let kid = header["kid"].as_str().unwrap_or_default();
    let alg = header["alg"].as_str().unwrap_or_default();
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| {
            keys.iter()
                .find(|key| key["kid"] == kid && key["alg"] == alg)
        })
        .ok_or_else(|| VerifyError::UnknownKey(kid.to_string()))?;
    let member = |name: &str| {
        key[name]
            .as_str()
            .and_then(|value| URL_SAFE_NO_PAD.decode(value).ok())
            .ok_or_else(|| VerifyError::UnknownKey(kid.to_string()))
    };
    let verified = match alg {
        "RS256" => {
            let public = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&member("n")?),
                rsa::BigUint::from_bytes_be(&member("e")?),
            )
            .map_err(|_| VerifyError::UnknownKey(kid.to_string()))?;
            let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
                .map_err(|_| VerifyError::BadSignature)?;
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public)
                .verify(signed.as_bytes(), &signature)
                .is_ok()
        }
        "ES256" => {
            let mut point = vec![4u8];
            point.extend(member("x")?);
            point.extend(member("y")?);
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| VerifyError::UnknownKey(kid.to_string()))?;
            let signature = p256::ecdsa::Signature::from_slice(&signature)
                .map_err(|_| VerifyError::BadSignature)?;
            key.verify(signed.as_bytes(), &signature).is_ok()
        }
        _ => return Err(VerifyError::UnknownKey(kid.to_string())),
    };
    if verified {
        Ok(claims)
    } else {
        Err(VerifyError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use std::collections::BTreeMap;
    use vigil_schemas::caep::{event_type, SubjectId};

    fn key(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    fn set() -> SecurityEventToken {
        SecurityEventToken {
            iss: "https://vigil.example.com/".into(),
            jti: "6b1d52c1-0000-5000-8000-000000000001".into(),
            iat: 1_772_440_021,
            aud: "https://idp.example.com/caep".into(),
            txn: "6b1d52c1-0000-5000-8000-000000000001".into(),
            sub_id: SubjectId::Email {
                email: "alice@example.com".into(),
            },
            events: BTreeMap::from([(
                event_type::SESSION_REVOKED.to_string(),
                serde_json::json!({ "event_timestamp": 1_772_440_020, "reason_admin": { "en": "x" } }),
            )]),
        }
    }

    fn parts(token: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>, &str) {
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let (header, claims) = signed.split_once('.').unwrap();
        let decode =
            |part: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
        (
            decode(header),
            decode(claims),
            URL_SAFE_NO_PAD.decode(signature).unwrap(),
            signed,
        )
    }

    #[test]
    fn rs256_sets_verify_against_the_published_key() {
        let signer = Signer::from_pem(&key("test-rs256.pem"), "vigil-2026").unwrap();
        let token = signer.sign(&set());
        assert_eq!(token, signer.sign(&set()), "deterministic");
        let (header, claims, signature, signed) = parts(&token);
        assert_eq!(
            header,
            serde_json::json!({ "alg": "RS256", "typ": "secevent+jwt", "kid": "vigil-2026" })
        );
        assert_eq!(claims["jti"], "6b1d52c1-0000-5000-8000-000000000001");
        // Verify with the JWK alone, as a receiver would.
        let jwk = &signer.jwks()["keys"][0];
        let n = rsa::BigUint::from_bytes_be(
            &URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
        );
        let e = rsa::BigUint::from_bytes_be(
            &URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap(),
        );
        let public = rsa::RsaPublicKey::new(n, e).unwrap();
        assert!(public.size() * 8 >= 2048);
        let verifying = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public);
        let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).unwrap();
        assert!(verifying.verify(signed.as_bytes(), &signature).is_ok());
        assert!(verifying.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn a_generated_key_signs_and_is_named_by_its_thumbprint() {
        let signer = Signer::generate_rs256().unwrap();
        assert_eq!(signer.algorithm(), "RS256");
        assert_eq!(signer.kid(), signer.thumbprint());
        assert_eq!(signer.kid().len(), 43);
        let other = Signer::generate_rs256().unwrap();
        assert_ne!(signer.kid(), other.kid(), "each run its own key");
        let jwks = signer.jwks();
        assert_eq!(jwks["keys"][0]["kid"], signer.kid());
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 section 3.1's example key and thumbprint, through the JWK members.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        use sha2::Digest as _;
        assert_eq!(
            b64(&sha2::Sha256::digest(canonical.as_bytes())),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // vigil's own keys, written the same way.
        let signer = Signer::from_pem(&key("test-rs256.pem"), "k").unwrap();
        let jwk = &signer.jwks()["keys"][0];
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        );
        assert_eq!(
            signer.thumbprint(),
            b64(&sha2::Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn openssl_and_the_pure_rust_key_sign_rs256_alike() {
        let signer = Signer::from_pem(&key("test-rs256.pem"), "k").unwrap();
        let Key::Rs256 { pure, openssl, .. } = &signer.key else {
            panic!("an RSA key")
        };
        let openssl = openssl.as_ref().expect("OpenSSL reads the key");
        let data = b"header.claims";
        let by_openssl = openssl_rs256(openssl, data).unwrap();
        let by_rust: rsa::pkcs1v15::Signature = pure.sign(data);
        assert_eq!(
            by_openssl,
            rsa::signature::SignatureEncoding::to_vec(&by_rust),
            "PKCS#1 v1.5 is deterministic: both sign the same"
        );
    }

    #[test]
    fn es256_sets_verify_against_the_published_key() {
        let signer = Signer::from_pem(&key("test-es256.pem"), "vigil-ec").unwrap();
        let token = signer.sign(&set());
        let (header, _, signature, signed) = parts(&token);
        assert_eq!(header["alg"], "ES256");
        let jwk = &signer.jwks()["keys"][0];
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&signature).unwrap();
        assert!(verifying.verify(signed.as_bytes(), &signature).is_ok());
    }

    #[test]
    fn receivers_verify_with_the_jwk_set_and_catch_tampering() {
        for (file, kid) in [("test-rs256.pem", "r"), ("test-es256.pem", "e")] {
            let signer = Signer::from_pem(&key(file), kid).unwrap();
            let token = signer.sign(&set());
            let claims = verify(&token, &signer.jwks()).unwrap();
            assert_eq!(claims["iss"], "https://vigil.example.com/");
            let mut tampered = token.clone();
            tampered.insert(token.find('.').unwrap() + 3, 'x');
            assert!(verify(&tampered, &signer.jwks()).is_err());
            let other = Signer::from_pem(&key(file), "other").unwrap();
            assert!(matches!(
                verify(&token, &other.jwks()),
                Err(VerifyError::UnknownKey(_))
            ));
        }
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        assert!(matches!(
            Signer::from_pem("not a key", "k"),
            Err(CaepKeyError::Unreadable)
        ));
    }
}
