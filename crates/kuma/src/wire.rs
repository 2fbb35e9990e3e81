//! Encodings Kuma's JSON uses that serde does not handle out of the box.
//!
//! Kuma serialises its protobuf-backed resources with protojson, so (README "Conventions that
//! bite"): times are RFC 3339 with `"0001-01-01T00:00:00Z"` for "unset", 64-bit counters arrive as
//! strings, and enums may appear as their name or (per the OpenAPI spec's `oneOf: [string,
//! integer]`) as their number. The spec also describes timestamps as `{seconds, nanos}` objects, so
//! that form is accepted too.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::Deserialize;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Optional timestamps: RFC 3339 string, `{seconds, nanos}`, `null` or absent. Kuma's "unset" time
/// (`0001-01-01T00:00:00Z`, year 1) reads as `None`, so "no expiry" and "never connected" are
/// plain `None` for the status rules.
pub(crate) mod opt_time {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Option<OffsetDateTime>, ser: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(t) => {
                let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                ser.serialize_str(&text)
            }
            None => ser.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<OffsetDateTime>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Proto {
                #[serde(default)]
                seconds: i64,
                #[serde(default)]
                nanos: i64,
            },
        }
        let raw: Option<Raw> = Option::deserialize(de)?;
        let parsed = match raw {
            None => return Ok(None),
            Some(Raw::Text(text)) if text.is_empty() => return Ok(None),
            Some(Raw::Text(text)) => OffsetDateTime::parse(&text, &Rfc3339)
                .map_err(|e| de::Error::custom(format!("invalid RFC 3339 time {text:?}: {e}")))?,
            Some(Raw::Proto { seconds, nanos }) => {
                let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
                OffsetDateTime::from_unix_timestamp_nanos(total).map_err(de::Error::custom)?
            }
        };
        Ok(if is_unset(parsed) { None } else { Some(parsed) })
    }

    /// protojson writes an unset `google.protobuf.Timestamp` as year 1 (and the `{seconds: 0}`
    /// object form means the Unix epoch, which Kuma never emits as a real value either).
    fn is_unset(t: OffsetDateTime) -> bool {
        t.year() <= 1 || t.unix_timestamp() == 0
    }
}

/// 64-bit counters: protojson writes `uint64` as a JSON string (`"responsesSent": "10"`); 32-bit
/// ones as numbers. Both are accepted, and written back as strings like Kuma does.
pub(crate) mod u64_lenient {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &u64, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&value.to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned integer or a string holding one")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom(format!("negative counter {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
                if v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 {
                    Ok(v as u64)
                } else {
                    Err(E::custom(format!("counter {v} is not an unsigned integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                v.trim()
                    .parse()
                    .map_err(|_| E::custom(format!("counter {v:?} is not an unsigned integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
                Ok(0)
            }
            fn visit_none<E: de::Error>(self) -> Result<u64, E> {
                Ok(0)
            }
        }
        de.deserialize_any(V)
    }
}

/// Declares an enum that mirrors a Kuma (protobuf or CRD) enum: it reads the canonical name, any
/// listed aliases (older spellings) and, where given, the protobuf number; anything else is kept
/// as `Other(text)` so a newer control plane never breaks parsing. It writes the canonical name.
macro_rules! kuma_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)* $(=> $num:literal)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of Bearing does not know; kept verbatim.
            Other(String),
        }

        impl $name {
            /// The canonical wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(text) => text,
                }
            }

            /// Reads a wire spelling (canonical or alias); unknown text becomes `Other`.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $( $wire $(| $alias)* => Self::$variant, )+
                    other => Self::Other(other.to_string()),
                }
            }

            #[allow(unreachable_patterns, unused_variables)]
            fn from_number(n: i64) -> Self {
                match n {
                    $( $( $num => Self::$variant, )? )+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                ser.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name or number"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from_wire(v))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name::from_number(v))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        Ok(i64::try_from(v).map($name::from_number).unwrap_or_else(|_| $name::Other(v.to_string())))
                    }
                }
                de.deserialize_any(V)
            }
        }
    };
}

pub(crate) use kuma_enum;
