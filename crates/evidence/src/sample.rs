//! Deterministic samples an auditor can redraw.
//!
//! The rule: rank every key of a population by
//! `SHA-256(seed || 0x00 || chain_head || 0x00 || population || 0x00 || key)` (strings as UTF-8,
//! `chain_head` as its 32 raw bytes) and keep the `n` smallest ranks, smallest first. Mixing in
//! the audit chain's head ties the draw to the state of the log at export, and a seed chosen by
//! the auditor keeps Bearing's operators from picking a convenient sample. [`SAMPLE_REDRAW_PY`]
//! redraws it from the population's CSV.

use std::collections::BinaryHeap;

use sha2::{Digest, Sha256};

use crate::EvidenceError;

/// A Python 3 program (standard library only, no single quotes, for `python3 -c '…'`) that
/// redraws a sample from a population CSV and prints the keys in rank order, one per line.
///
/// Arguments: `SEED CHAIN_HEAD_HEX POPULATION CSV_FILE KEY_COLUMN N`. It undoes the CSV formula
/// neutralisation (a cell starting with `'` had one `'` added) before ranking.
pub const SAMPLE_REDRAW_PY: &str = concat!(
    "import csv,hashlib,sys; s,h,p,f,c,n=sys.argv[1:7]; ",
    "rank=lambda k: hashlib.sha256(b\"\\0\".join([s.encode(),bytes.fromhex(h),p.encode(),k.encode()])).digest(); ",
    "keys=[r[c][1:] if r[c].startswith(\"\\x27\") else r[c] for r in csv.DictReader(open(f,newline=\"\",encoding=\"utf-8\"))]; ",
    "print(*sorted(keys,key=rank)[:int(n)],sep=\"\\n\")"
);

/// One key drawn into a sample, with the rank that put it there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sampled {
    /// SHA-256 of the sampling input; smaller ranks are drawn first.
    pub rank: [u8; 32],
    /// The key as given.
    pub key: String,
}

/// The `n` keys of `keys` with the smallest ranks (see the module doc), smallest first; all of
/// them, ranked, when there are `n` or fewer.
///
/// Streams: memory holds at most `n` keys (a bounded max-heap of the best so far), however long
/// the population, so keys can come straight from a database cursor. Duplicate keys rank alike
/// and are drawn together, as the Python redraw would.
///
/// `seed` and `population` must not contain a NUL character, which separates the fields: with
/// one, two different inputs could hash alike.
pub fn sample<I, K>(
    seed: &str,
    chain_head: &[u8; 32],
    population: &str,
    keys: I,
    n: usize,
) -> Result<Vec<Sampled>, EvidenceError>
where
    I: IntoIterator<Item = K>,
    K: AsRef<str>,
{
    let mut sampler = Sampler::new(seed, chain_head, population, n)?;
    for key in keys {
        sampler.offer(key.as_ref(), || ());
    }
    Ok(sampler.finish().into_iter().map(|(s, ())| s).collect())
}

/// [`sample`] fed one key at a time, keeping a value (say, the key's CSV row) with each key
/// drawn so far: a population can be written and sampled in the same pass over its rows.
pub struct Sampler<T> {
    prefix: Sha256,
    n: usize,
    /// A max-heap of the n best so far: its top is the worst kept, the one a better key replaces.
    best: BinaryHeap<Kept<T>>,
}

/// A drawn key with its value, ordered by the draw alone.
struct Kept<T>(Sampled, T);

impl<T> PartialEq for Kept<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for Kept<T> {}
impl<T> PartialOrd for Kept<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Kept<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl<T> Sampler<T> {
    /// A sampler keeping the `n` smallest ranks; errors as [`sample`] does.
    pub fn new(seed: &str, chain_head: &[u8; 32], population: &str, n: usize) -> Result<Self, EvidenceError> {
        for (what, value) in [("seed", seed), ("population name", population)] {
            if value.contains('\0') {
                return Err(EvidenceError::InvalidSample(format!(
                    "the {what} contains a NUL character, which separates the hashed fields"
                )));
            }
        }
        let mut prefix = Sha256::new();
        for part in [seed.as_bytes(), chain_head, population.as_bytes()] {
            prefix.update(part);
            prefix.update([0]);
        }
        Ok(Self {
            prefix,
            n,
            best: BinaryHeap::with_capacity(n.min(4096)),
        })
    }

    /// Ranks `key`, keeping it and its value (made only then) if it is among the `n` best so far.
    pub fn offer(&mut self, key: &str, value: impl FnOnce() -> T) {
        if self.n == 0 {
            return;
        }
        let rank: [u8; 32] = self.prefix.clone().chain_update(key.as_bytes()).finalize().into();
        let better = self.best.len() < self.n
            || self
                .best
                .peek()
                .is_some_and(|worst| (&rank, key) < (&worst.0.rank, worst.0.key.as_str()));
        if better {
            if self.best.len() == self.n {
                self.best.pop();
            }
            let drawn = Sampled {
                rank,
                key: key.to_owned(),
            };
            self.best.push(Kept(drawn, value()));
        }
    }

    /// The keys drawn, smallest rank first, with their values.
    pub fn finish(self) -> Vec<(Sampled, T)> {
        self.best
            .into_sorted_vec()
            .into_iter()
            .map(|Kept(s, v)| (s, v))
            .collect()
    }
}

/// `SHA-256` rank of one key, for tests and for showing the rank next to a sampled row.
pub fn rank(seed: &str, chain_head: &[u8; 32], population: &str, key: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [seed.as_bytes(), chain_head, population.as_bytes()] {
        hasher.update(part);
        hasher.update([0]);
    }
    hasher.update(key.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: [u8; 32] = [7; 32];

    fn keys(count: usize) -> Vec<String> {
        (0..count).map(|i| format!("component:default/svc-{i}")).collect()
    }

    fn drawn(seed: &str, count: usize, n: usize) -> Vec<String> {
        sample(seed, &HEAD, "entities", keys(count), n)
            .unwrap()
            .into_iter()
            .map(|s| s.key)
            .collect()
    }

    #[test]
    fn same_seed_same_sample_other_seed_other_sample() {
        let a = drawn("2026-Q4", 1_000, 25);
        assert_eq!(a.len(), 25);
        assert_eq!(a, drawn("2026-Q4", 1_000, 25));
        assert_ne!(a, drawn("2026-Q3", 1_000, 25));
        // Another chain head or population is another draw too.
        let other_head = sample("2026-Q4", &[8; 32], "entities", keys(1_000), 25).unwrap();
        assert_ne!(a, other_head.into_iter().map(|s| s.key).collect::<Vec<_>>());
    }

    #[test]
    fn sample_is_the_smallest_ranks_of_a_full_sort() {
        let mut all: Vec<(String, [u8; 32])> = keys(500)
            .into_iter()
            .map(|k| {
                let r = rank("s", &HEAD, "entities", &k);
                (k, r)
            })
            .collect();
        all.sort_by_key(|a| a.1);
        let expected: Vec<String> = all.into_iter().take(40).map(|(k, _)| k).collect();
        let got = sample("s", &HEAD, "entities", keys(500), 40).unwrap();
        assert_eq!(got.iter().map(|s| s.key.clone()).collect::<Vec<_>>(), expected);
        assert!(got.iter().all(|s| s.rank == rank("s", &HEAD, "entities", &s.key)));
        // Order of the input does not matter.
        let mut reversed = keys(500);
        reversed.reverse();
        assert_eq!(sample("s", &HEAD, "entities", reversed, 40).unwrap(), got);
    }

    #[test]
    fn n_beyond_the_population_returns_all_ranked() {
        let got = sample("s", &HEAD, "entities", keys(10), 50).unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.windows(2).all(|w| w[0].rank < w[1].rank));
        assert!(sample("s", &HEAD, "entities", keys(10), 0).unwrap().is_empty());
        assert!(sample("s", &HEAD, "entities", Vec::<String>::new(), 5)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn nul_in_seed_or_population_is_refused() {
        assert!(sample("a\0b", &HEAD, "entities", keys(3), 2).is_err());
        assert!(sample("a", &HEAD, "enti\0ties", keys(3), 2).is_err());
    }
}
