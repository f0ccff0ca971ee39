//! Which record an operation touches: YCSB's request distributions.

use rand::Rng;
use rand_distr::{Distribution, Zipf};
use serde::Serialize;

/// YCSB's zipfian constant (`zipfianconstant`).
pub const ZIPFIAN_CONSTANT: f64 = 0.99;
/// Ranks the scrambled zipfian draws from before hashing onto the records, as YCSB's
/// `ScrambledZipfianGenerator` (so popularity does not depend on the record count and the
/// hot records are spread over the key space instead of being the first ones).
const SCRAMBLED_RANKS: f64 = 1e10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDistribution {
    Uniform,
    Zipfian,
    /// Skewed towards the most recently inserted records (YCSB workload D).
    Latest,
}

impl std::str::FromStr for KeyDistribution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "uniform" => Ok(KeyDistribution::Uniform),
            "zipfian" => Ok(KeyDistribution::Zipfian),
            "latest" => Ok(KeyDistribution::Latest),
            _ => Err(format!("unknown key distribution {s:?} (uniform, zipfian, latest)")),
        }
    }
}

impl std::fmt::Display for KeyDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyDistribution::Uniform => "uniform",
            KeyDistribution::Zipfian => "zipfian",
            KeyDistribution::Latest => "latest",
        })
    }
}

/// Draws record numbers in `0..count` (count grows as a workload inserts).
pub struct KeyChooser {
    distribution: KeyDistribution,
    zipf: Option<Zipf<f64>>,
}

/// FNV-1a, 64 bits (what YCSB scrambles zipfian ranks with).
fn fnv1a(mut x: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..8 {
        hash ^= x & 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        x >>= 8;
    }
    hash
}

impl KeyChooser {
    /// `records`: the records loaded before the run (the latest distribution's skew spans them).
    pub fn new(distribution: KeyDistribution, records: u64) -> Result<KeyChooser, String> {
        let zipf = match distribution {
            KeyDistribution::Uniform => None,
            KeyDistribution::Zipfian => Some(Zipf::new(SCRAMBLED_RANKS, ZIPFIAN_CONSTANT)),
            KeyDistribution::Latest => Some(Zipf::new(records.max(1) as f64, ZIPFIAN_CONSTANT)),
        }
        .transpose()
        .map_err(|e| format!("zipfian distribution: {e}"))?;
        Ok(KeyChooser { distribution, zipf })
    }

    /// A record number below `count` (`count` > 0).
    pub fn next<R: Rng + ?Sized>(&self, rng: &mut R, count: u64) -> u64 {
        let count = count.max(1);
        // Zipf yields ranks 1..=n as floats.
        let rank = |rng: &mut R| {
            self.zipf
                .as_ref()
                .map_or(0, |z| (z.sample(rng) as u64).saturating_sub(1))
        };
        match self.distribution {
            KeyDistribution::Uniform => rng.random_range(0..count),
            KeyDistribution::Zipfian => fnv1a(rank(rng)) % count,
            KeyDistribution::Latest => count - 1 - rank(rng) % count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn histogram(d: KeyDistribution, count: u64, draws: usize) -> Vec<u64> {
        let chooser = KeyChooser::new(d, count).unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut seen = vec![0u64; count as usize];
        for _ in 0..draws {
            let k = chooser.next(&mut rng, count);
            assert!(k < count);
            seen[k as usize] += 1;
        }
        seen
    }

    /// Uniform touches every record about equally.
    #[test]
    fn uniform_is_flat() {
        let seen = histogram(KeyDistribution::Uniform, 100, 100_000);
        assert!(seen.iter().all(|&n| (700..1300).contains(&n)), "{seen:?}");
    }

    /// Zipfian concentrates on a few records, and those are not simply the first ones.
    #[test]
    fn zipfian_is_skewed_and_scrambled() {
        let mut seen = histogram(KeyDistribution::Zipfian, 1000, 100_000);
        let hottest = seen
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| i)
            .unwrap();
        seen.sort_unstable_by(|a, b| b.cmp(a));
        let top10: u64 = seen[..10].iter().sum();
        assert!(
            top10 > 10_000,
            "the 10 hottest of 1000 records got {top10} of 100000 draws"
        );
        assert!(hottest != 0);
    }

    /// Latest favours the newest records.
    #[test]
    fn latest_favours_recent_records() {
        let seen = histogram(KeyDistribution::Latest, 1000, 100_000);
        let newest: u64 = seen[900..].iter().sum();
        let oldest: u64 = seen[..100].iter().sum();
        assert!(newest > 5 * oldest, "newest {newest}, oldest {oldest}");
        assert!(seen[999] > seen[500]);
    }
}
