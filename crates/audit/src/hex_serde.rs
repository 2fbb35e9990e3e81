//! Fixed-length byte arrays as lowercase hex strings in JSON (hashes and signatures).

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[u8; N], D::Error> {
    let text = String::deserialize(deserializer)?;
    let mut bytes = [0u8; N];
    hex::decode_to_slice(&text, &mut bytes)
        .map_err(|e| serde::de::Error::custom(format!("expected {} hex digits: {e}", 2 * N)))?;
    Ok(bytes)
}
