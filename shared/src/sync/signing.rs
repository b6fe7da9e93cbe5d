//! Ed25519 op signatures on native targets: verification for the server, and a key that
//! signs for native clients (simulations, load programs). The browser signs with WebCrypto
//! instead (the same algorithm and message), so none of this is compiled to wasm.

pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use uuid::Uuid;

use super::{engine::Signer, op::Op};

/// Why an op's signature does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// No signature, or not 64 bytes of base64url.
    Malformed,
    /// The registered public key is not a valid Ed25519 key.
    BadKey,
    /// Does not verify against the key.
    Mismatch,
}

use super::engine::base64url_decode as decode_b64;

/// Whether `public_key` (32 raw bytes, base64url) is a usable Ed25519 key: a valid point that
/// is not of small order (a weak key lets many messages verify under one signature).
pub fn parse_public_key(public_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = decode_b64(public_key)?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes)
        .ok()
        .filter(|key| !key.is_weak())
}

/// Checks many ops' signatures at once, each against its key, and says which hold. A batch
/// verification (one multi-scalar multiplication, about a third of the cost per signature)
/// is tried first; if the batch fails, every op is checked on its own ([`verify`]) to tell
/// the forged ones from the rest. Batches of honest devices never fail, so the fallback is
/// the price of a forgery, paid by the batch that carries it.
pub fn verify_many(ops: &[(&Op, &VerifyingKey)]) -> Vec<Result<(), Invalid>> {
    let decoded: Vec<Option<Signature>> = ops
        .iter()
        .map(|(op, _)| {
            let raw = op.signature.as_deref().and_then(decode_b64)?;
            Signature::from_slice(&raw).ok()
        })
        .collect();
    if decoded.iter().all(Option::is_some) && !ops.is_empty() {
        let messages: Vec<Vec<u8>> = ops.iter().map(|(op, _)| op.signing_message()).collect();
        let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let signatures: Vec<Signature> = decoded.into_iter().flatten().collect();
        let keys: Vec<VerifyingKey> = ops.iter().map(|(_, key)| **key).collect();
        if ed25519_dalek::verify_batch(&message_refs, &signatures, &keys).is_ok() {
            return vec![Ok(()); ops.len()];
        }
    }
    ops.iter().map(|(op, key)| verify(op, key)).collect()
}

/// Checks `op`'s signature against `key` (strict verification: no malleable signatures, no
/// weak keys).
pub fn verify(op: &Op, key: &VerifyingKey) -> Result<(), Invalid> {
    let raw = op
        .signature
        .as_deref()
        .and_then(decode_b64)
        .ok_or(Invalid::Malformed)?;
    let signature = Signature::from_slice(&raw).map_err(|_| Invalid::Malformed)?;
    key.verify_strict(&op.signing_message(), &signature)
        .map_err(|_| Invalid::Mismatch)
}

/// A signing key held in memory, for native clients.
#[derive(Clone)]
pub struct KeySigner {
    pub key_id: Uuid,
    key: SigningKey,
}

impl KeySigner {
    /// A key from 32 secret bytes (a seeded generator's, in simulations).
    pub fn from_secret(key_id: Uuid, secret: [u8; 32]) -> Self {
        Self {
            key_id,
            key: SigningKey::from_bytes(&secret),
        }
    }

    /// The public half, base64url, as registered with the server.
    pub fn public_key(&self) -> String {
        super::engine::base64url(self.key.verifying_key().as_bytes())
    }

    /// Signs raw bytes (for tests that forge or replay signatures).
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

impl Signer for KeySigner {
    fn key_id(&self) -> Uuid {
        self.key_id
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        Ok(self.sign_bytes(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{engine::base64url, op::OpBody, Hlc, OpKind};

    fn signed(signer: &KeySigner) -> Op {
        let body = OpBody {
            op_id: Uuid::from_u128(1),
            device_id: Uuid::from_u128(2),
            author_id: Uuid::from_u128(3),
            seq: 1,
            model: "productos.Producto".into(),
            entity_id: Uuid::from_u128(4),
            kind: OpKind::Update,
            base_version: Some(1),
            fields: [("precio".to_owned(), serde_json::json!(100))].into(),
            hlc: Hlc::zero("d"),
            priority: 40,
            v: 2,
            key_id: Some(signer.key_id),
        };
        let sig = base64url(&signer.sign_bytes(&crate::sync::op::signing_message(&body)));
        Op::seal_signed(body, sig)
    }

    #[test]
    fn a_signed_op_verifies_with_its_key_and_no_other() {
        let alice = KeySigner::from_secret(Uuid::from_u128(10), [1; 32]);
        let mallory = KeySigner::from_secret(Uuid::from_u128(11), [2; 32]);
        let op = signed(&alice);
        let alice_key = parse_public_key(&alice.public_key()).unwrap();
        let mallory_key = parse_public_key(&mallory.public_key()).unwrap();
        assert_eq!(verify(&op, &alice_key), Ok(()));
        assert_eq!(verify(&op, &mallory_key), Err(Invalid::Mismatch));
    }

    #[test]
    fn any_change_of_the_body_except_seq_breaks_the_signature() {
        let alice = KeySigner::from_secret(Uuid::from_u128(10), [1; 32]);
        let key = parse_public_key(&alice.public_key()).unwrap();
        let mut op = signed(&alice);
        op.body.seq = 7;
        assert_eq!(verify(&op, &key), Ok(()), "seq is assigned after signing");
        op.body.author_id = Uuid::from_u128(99);
        assert_eq!(verify(&op, &key), Err(Invalid::Mismatch));
        let mut op = signed(&alice);
        op.signature = Some("not base64!".into());
        assert_eq!(verify(&op, &key), Err(Invalid::Malformed));
        op.signature = None;
        assert_eq!(verify(&op, &key), Err(Invalid::Malformed));
    }

    #[test]
    fn a_batch_holds_when_every_signature_does_and_names_the_forged_one_when_not() {
        let alice = KeySigner::from_secret(Uuid::from_u128(10), [1; 32]);
        let bob = KeySigner::from_secret(Uuid::from_u128(11), [2; 32]);
        let (ka, kb) = (
            parse_public_key(&alice.public_key()).unwrap(),
            parse_public_key(&bob.public_key()).unwrap(),
        );
        let (a, b) = (signed(&alice), signed(&bob));
        assert_eq!(verify_many(&[(&a, &ka), (&b, &kb)]), vec![Ok(()), Ok(())]);
        let mut forged = signed(&alice);
        forged
            .body
            .fields
            .insert("precio".into(), serde_json::json!(1));
        assert_eq!(
            verify_many(&[(&a, &ka), (&forged, &ka), (&b, &kb)]),
            vec![Ok(()), Err(Invalid::Mismatch), Ok(())]
        );
        let mut unsigned = signed(&alice);
        unsigned.signature = None;
        assert_eq!(
            verify_many(&[(&unsigned, &ka), (&b, &kb)]),
            vec![Err(Invalid::Malformed), Ok(())]
        );
    }

    #[test]
    fn a_public_key_must_be_32_bytes_of_base64url() {
        assert!(parse_public_key("abc").is_none());
        assert!(parse_public_key(&base64url(&[0; 31])).is_none());
        // The identity point: a valid encoding, of small order.
        let mut identity = [0_u8; 32];
        identity[0] = 1;
        assert!(
            parse_public_key(&base64url(&identity)).is_none(),
            "weak key"
        );
    }
}
