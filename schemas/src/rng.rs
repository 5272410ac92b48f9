//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
//! 2014): the one generator behind every seeded choice taojin makes (MinHash
//! permutations, shuffles, the demo corpus). Ours, not a dependency's, so a seed means
//! the same stream on every platform and in every version; pinned by the reference
//! implementation's outputs in the tests.

/// The stream's increment (2^64 / φ).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The output function: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first output of the stream seeded with `seed`: a fast, well-mixed hash of a u64.
pub fn splitmix64(seed: u64) -> u64 {
    mix(seed.wrapping_add(GAMMA))
}

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        mix(self.0)
    }

    /// A uniform value in `[0, 1)` from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs() {
        // From the reference C implementation (Vigna's splitmix64.c), seeds 0 and 42.
        let mut s = SplitMix64::new(0);
        let first: Vec<u64> = (0..4).map(|_| s.next()).collect();
        assert_eq!(
            first,
            [
                0xE220_A839_7B1D_CDAF,
                0x6E78_9E6A_A1B9_65F4,
                0x06C4_5D18_8009_454F,
                0xF88B_B8A8_724C_81EC
            ]
        );
        let mut s = SplitMix64::new(42);
        assert_eq!(
            [s.next(), s.next()],
            [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103]
        );
        assert_eq!(splitmix64(42), 0xBDD7_3226_2FEB_6E95);
    }
}
