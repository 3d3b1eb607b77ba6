//! Which vector instructions the processor has, for the paths that use them.

/// Whether to take the AVX-512 paths: the processor has the subsets they use (F, BW, DQ, VL,
/// VBMI and VBMI2). VBMI2 also draws the line between processors whose cores keep their clock
/// speed under 512-bit instructions (Intel from Ice Lake, AMD from Zen 4) and the first ones
/// with AVX-512 (Skylake-SP, Cascade Lake), which lack it and lower the core's clock for all
/// the code around such instructions: those keep the AVX2 paths. The environment variable
/// `ALAM_NO_AVX512` (any value) keeps them everywhere, to compare the paths on one machine.
/// Asked once, then remembered.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx512() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not asked yet; 1: no; 2: yes.
    static ANSWER: AtomicU8 = AtomicU8::new(0);
    match ANSWER.load(Ordering::Relaxed) {
        0 => {
            let yes = std::env::var_os("ALAM_NO_AVX512").is_none()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vbmi")
                && is_x86_feature_detected!("avx512vbmi2");
            ANSWER.store(1 + u8::from(yes), Ordering::Relaxed);
            yes
        }
        answer => answer == 2,
    }
}
