//! YAML to JSON values, so world files (and, in the tests, Kuma's OpenAPI spec) go through serde
//! like JSON does.

use saphyr::{LoadableYamlNode, Scalar, ScalarStyle, Yaml};
use serde_json::{Map, Number, Value};

/// Parses the first YAML document of `text` into a JSON value. Mapping keys become strings;
/// aliases and tags are not supported (world files do not need them).
pub fn to_json(text: &str) -> Result<Value, String> {
    let docs = Yaml::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.first() {
        Some(doc) => convert(doc),
        None => Ok(Value::Null),
    }
}

fn convert(node: &Yaml<'_>) -> Result<Value, String> {
    Ok(match node {
        Yaml::Value(scalar) => scalar_to_json(scalar),
        Yaml::Representation(text, style, _) => {
            if *style == ScalarStyle::Plain {
                scalar_to_json(&Scalar::parse_from_cow(text.clone()))
            } else {
                Value::String(text.to_string())
            }
        }
        Yaml::Sequence(items) => Value::Array(items.iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match convert(key)? {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    other => other.to_string(),
                };
                out.insert(key, convert(value)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => convert(inner)?,
        Yaml::Alias(_) => return Err("YAML aliases are not supported".to_string()),
        Yaml::BadValue => return Err("invalid YAML value".to_string()),
    })
}

fn scalar_to_json(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_scalars_and_nesting() {
        let v = to_json("a: 1\nb: [true, null, 'x', 2.5]\n'200': {c: d}\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": [true, null, "x", 2.5], "200": {"c": "d"}})
        );
    }
}
