//! RocketMQ's request signature (ACL 1.0 and 2.0 alike, REMOTING.md §8.1, docs/acl-facts.md
//! §2.2 and §6): Base64(HMAC-SHA1(secret, the values of every ext field but `Signature`,
//! sorted by key, then the body)). Clients sign with it; servers recompute it.

use apogee_protocol::{ExtFields, RemotingCommand};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::Credentials;

/// Ext-field keys of the signature.
pub const ACCESS_KEY: &str = "AccessKey";
pub const SIGNATURE: &str = "Signature";
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Left out of the signed content for requests of version ≤ V4_9_3 (ordinal 399).
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
const V4_9_3: i32 = 399;

type HmacSha1 = Hmac<Sha1>;

/// HMAC-SHA1 of the signed content, fed piece by piece (no content buffer is built). RustCrypto's
/// SHA-1 uses the CPU's SHA extensions when it has them (ring's SHA-1 is portable code, 3×
/// slower on 1 KiB bodies here).
fn mac_of(secret: &str, fields: &ExtFields, body: &[u8], version: i32) -> HmacSha1 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    // ExtFields iterate by key in byte order, as Java sorts ASCII keys.
    for (key, value) in fields {
        if key == SIGNATURE || (key == UNIQUE_KEY_QUERY && version <= V4_9_3) {
            continue;
        }
        mac.update(value.as_bytes());
    }
    mac.update(body);
    mac
}

/// The signature of `fields` and `body` under `secret`.
pub fn sign(secret: &str, fields: &ExtFields, body: &[u8], version: i32) -> String {
    STANDARD.encode(
        mac_of(secret, fields, body, version)
            .finalize()
            .into_bytes(),
    )
}

/// Whether `signature` is the one `secret` gives `fields` and `body`; compared in constant time.
pub fn verify(
    secret: &str,
    fields: &ExtFields,
    body: &[u8],
    version: i32,
    signature: &str,
) -> bool {
    // A SHA-1 MAC is 20 bytes; decoding into the stack keeps the check allocation-free.
    let mut given = [0u8; 32];
    let Ok(len) = STANDARD.decode_slice(signature.trim(), &mut given) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac_of(secret, fields, body, version)
        .verify_slice(&given[..len])
        .is_ok()
}

/// Adds `AccessKey`, the token if any, and `Signature` to an outgoing request.
pub fn sign_request(request: &mut RemotingCommand, credentials: &Credentials) {
    let fields = &mut request.ext_fields;
    fields.remove(SIGNATURE);
    fields.insert(ACCESS_KEY, credentials.access_key.clone());
    if let Some(token) = &credentials.security_token {
        fields.insert(SECURITY_TOKEN, token.clone());
    }
    let signature = sign(
        &credentials.secret_key,
        fields,
        &request.body,
        request.version,
    );
    request.ext_fields.insert(SIGNATURE, signature);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn given_a_known_vector_should_sign_values_sorted_by_key_then_the_body() {
        // content = "ak" + "t1" + "body": AccessKey < topic in byte order.
        let f = fields(&[("topic", "t1"), ("AccessKey", "ak")]);
        // HMAC-SHA1("secret", "akt1body") as Python's hmac module computes it.
        let expected = "W5R9Iwd3eo5sZ2cxa5MyHMZ+afw=";
        assert_eq!(sign("secret", &f, b"body", 500), expected);
        assert!(verify("secret", &f, b"body", 500, expected));
        assert!(!verify("secret", &f, b"bodx", 500, expected));
        assert!(!verify("other", &f, b"body", 500, expected));
        assert!(!verify("secret", &f, b"body", 500, "not base64 !"));
    }

    #[test]
    fn given_unique_key_query_should_leave_it_out_only_for_old_versions() {
        let with = fields(&[("a", "1"), (UNIQUE_KEY_QUERY, "true")]);
        let without = fields(&[("a", "1")]);
        assert_eq!(sign("s", &with, b"", 399), sign("s", &without, b"", 399));
        assert_ne!(sign("s", &with, b"", 400), sign("s", &without, b"", 400));
    }

    #[test]
    fn given_a_signed_request_should_verify_with_its_own_fields() {
        let mut request = RemotingCommand::bare_request(apogee_protocol::RequestCode::HEART_BEAT);
        request.ext_fields.insert("x", "y");
        request.body = bytes::Bytes::from_static(b"{}");
        let credentials = Credentials::new("alice-key", "alice-secret");
        sign_request(&mut request, &credentials);
        let signature = request.ext_fields[SIGNATURE].to_owned();
        assert_eq!(&request.ext_fields[ACCESS_KEY], "alice-key");
        assert!(verify(
            "alice-secret",
            &request.ext_fields,
            &request.body,
            request.version,
            &signature
        ));
    }

    proptest::proptest! {
        #[test]
        fn given_any_request_should_verify_its_own_signature_and_no_altered_one(
            fields in proptest::collection::btree_map("[A-Za-z_]{1,8}", ".{0,12}", 0..8),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            secret in ".{1,16}",
            flip in 0usize..64,
        ) {
            let fields: ExtFields = fields.into_iter().collect();
            let signature = sign(&secret, &fields, &body, 500);
            proptest::prop_assert!(verify(&secret, &fields, &body, 500, &signature));
            let mut altered = body.clone();
            if altered.is_empty() {
                altered.push(0);
            } else {
                let i = flip % altered.len();
                altered[i] ^= 1;
            }
            proptest::prop_assert!(!verify(&secret, &fields, &altered, 500, &signature));
        }
    }
}
