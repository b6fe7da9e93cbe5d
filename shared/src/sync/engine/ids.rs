//! Op ids for native engines and simulations, and the base64url form of keys and signatures.

use uuid::Uuid;

/// A deterministic op id source (xorshift64*), for native engines and simulations: one seed
/// gives one sequence of ids, so a simulated world replays exactly.
pub fn seeded_ids(seed: u64) -> Box<dyn FnMut() -> Uuid + Send> {
    let mut state = seed | 1;
    Box::new(move || {
        let mut next = || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let (hi, lo) = (next(), next());
        let mut bytes = [0_u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    })
}

/// Base64url without padding (the signature's and public keys' wire form).
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` if it is not that.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_op_ids_replay_per_seed_and_never_repeat_within_one() {
        let (mut a, mut b, mut c) = (seeded_ids(7), seeded_ids(7), seeded_ids(8));
        let first: Vec<Uuid> = (0..1000).map(|_| a()).collect();
        let again: Vec<Uuid> = (0..1000).map(|_| b()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], c());
        let distinct: std::collections::HashSet<_> = first.iter().collect();
        assert_eq!(distinct.len(), first.len());
    }

    #[test]
    fn base64url_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
