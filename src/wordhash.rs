// Included by `build.rs` and by `src/commonwords.rs`: the build lays out the table of common
// words with the hash that lookups use at run time.

/// A 64-bit hash of a word's bytes, mixed eight bytes at a time.
fn word_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        h = (h ^ word).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K).rotate_left(29);
    }
    let h = (h ^ (h >> 31)).wrapping_mul(K);
    h ^ (h >> 29)
}
