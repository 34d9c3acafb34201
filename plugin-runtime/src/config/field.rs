//! The Rust types a config field may have, and how each maps to and from a stored JSON value.

use serde_json::{Number, Value};

use super::schema::FieldKind;

/// A Rust type usable as a plugin config field: it knows its [`FieldKind`] and converts to and
/// from the stored JSON value, with a typed error when the value does not fit (an integer out
/// of the Rust type's range is an error, never a silent wrap).
///
/// Implemented for `String`, `bool`, every integer type, `f32`, `f64`, `Vec<String>` and
/// `Option<T>` of those. `#[derive(PluginConfig)]` names this trait at each field's type, so
/// an unsupported type is reported there, once (its `Debug` impl goes through this trait too).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of a plugin config field",
    label = "no form mapping for this type",
    note = "use `String`, `bool`, an integer type, `f32`, `f64`, `Vec<String>`, or an `Option` of one of these"
)]
pub trait ConfigField: Sized + std::fmt::Debug {
    /// The kind a field of this type has unless an attribute (`secret`, `url`, …) refines it.
    const KIND: FieldKind;
    /// Whether the type is an `Option`.
    const OPTIONAL: bool = false;
    /// Whether an operator must supply a value when there is no default (`false` for types
    /// with a natural empty value: `bool`, `Vec<String>`, `Option<T>`).
    const REQUIRED: bool = true;
    /// The values the Rust type can hold, for number types (`u8`: 0 to 255): the schema
    /// checks them, so a form the admin accepts always builds the typed config.
    const RANGE: Option<(f64, f64)> = None;

    /// Reads the field from its stored value.
    fn from_value(value: &Value) -> Result<Self, ValueError>;

    /// The value to store.
    fn to_value(&self) -> Value;

    /// The value of an absent field without a default: `None` when the field is required.
    fn when_missing() -> Option<Self> {
        None
    }

    /// `Debug::fmt`, as the derive's `Debug` impl names it.
    #[doc(hidden)]
    fn fmt_debug(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Why a stored value does not fit the field's Rust type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The JSON value has the wrong type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the field holds.
        expected: &'static str,
        /// What the value was.
        found: &'static str,
    },
    /// A number outside the range of the field's Rust type.
    #[error("{value} is out of range: must be between {min} and {max}")]
    OutOfRange {
        /// The value as written.
        value: String,
        /// The type's smallest value.
        min: String,
        /// The type's largest value.
        max: String,
    },
    /// A float that is infinite or not a number.
    #[error("must be a finite number")]
    NotFinite,
}

/// A short description of a JSON value's type, for "expected …, found …" messages.
pub(crate) fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true or false",
        Value::Number(number) if number.is_f64() => "a number with a fraction",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(expected: FieldKind, value: &Value) -> ValueError {
    ValueError::WrongType {
        expected: expected.describe(),
        found: describe_value(value),
    }
}

impl ConfigField for String {
    const KIND: FieldKind = FieldKind::Text;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::String(text) => Ok(text.clone()),
            other => Err(wrong_type(Self::KIND, other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ConfigField for bool {
    const KIND: FieldKind = FieldKind::Bool;
    const REQUIRED: bool = false;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Bool(flag) => Ok(*flag),
            other => Err(wrong_type(Self::KIND, other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }

    fn when_missing() -> Option<Self> {
        Some(false)
    }
}

/// The integer in a JSON number, accepting `30.0` (some front ends send every number as a
/// float) but not `30.5`.
fn integer_of(value: &Value) -> Result<i128, ValueError> {
    let Value::Number(number) = value else {
        return Err(wrong_type(FieldKind::Integer, value));
    };
    if let Some(int) = number.as_i128() {
        return Ok(int);
    }
    match number.as_f64() {
        // The bound keeps the cast exact; larger floats are not whole-number literals anyway.
        Some(float) if float.fract() == 0.0 && float.abs() < 1e18 => Ok(float as i128),
        _ => Err(wrong_type(FieldKind::Integer, value)),
    }
}

macro_rules! integer_fields {
    ($($ty:ty),* $(,)?) => {$(
        impl ConfigField for $ty {
            const KIND: FieldKind = FieldKind::Integer;
            const RANGE: Option<(f64, f64)> = Some((<$ty>::MIN as f64, <$ty>::MAX as f64));

            fn from_value(value: &Value) -> Result<Self, ValueError> {
                let int = integer_of(value)?;
                <$ty>::try_from(int).map_err(|_| ValueError::OutOfRange {
                    value: int.to_string(),
                    min: <$ty>::MIN.to_string(),
                    max: <$ty>::MAX.to_string(),
                })
            }

            fn to_value(&self) -> Value {
                // Numbers beyond 64 bits have no exact JSON form; they are stored as text so
                // nothing is lost, and reading them back reports the mismatch.
                Number::from_i128(i128::try_from(*self).unwrap_or(i128::MAX))
                    .map_or_else(|| Value::String(self.to_string()), Value::Number)
            }
        }
    )*};
}

integer_fields!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

fn float_of(value: &Value) -> Result<f64, ValueError> {
    match value {
        Value::Number(number) => number.as_f64().ok_or(ValueError::NotFinite),
        other => Err(wrong_type(FieldKind::Float, other)),
    }
}

impl ConfigField for f64 {
    const KIND: FieldKind = FieldKind::Float;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        float_of(value)
    }

    fn to_value(&self) -> Value {
        Number::from_f64(*self).map_or(Value::Null, Value::Number)
    }
}

impl ConfigField for f32 {
    const KIND: FieldKind = FieldKind::Float;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        let float = float_of(value)?;
        let narrowed = float as f32;
        if narrowed.is_finite() {
            Ok(narrowed)
        } else {
            Err(ValueError::OutOfRange {
                value: float.to_string(),
                min: f32::MIN.to_string(),
                max: f32::MAX.to_string(),
            })
        }
    }

    fn to_value(&self) -> Value {
        // Through the shortest decimal form, so `0.1f32` is stored as 0.1, not 0.10000000149.
        let widened = self.to_string().parse::<f64>().unwrap_or(f64::from(*self));
        Number::from_f64(widened).map_or(Value::Null, Value::Number)
    }
}

impl ConfigField for Vec<String> {
    const KIND: FieldKind = FieldKind::ListOfText;
    const REQUIRED: bool = false;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        let Value::Array(items) = value else {
            return Err(wrong_type(Self::KIND, value));
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(ValueError::WrongType {
                    expected: "a list of text",
                    found: match other {
                        Value::Number(_) => "a list holding a number",
                        Value::Bool(_) => "a list holding true or false",
                        Value::Null => "a list holding nothing",
                        _ => "a list holding a nested value",
                    },
                }),
            })
            .collect()
    }

    fn to_value(&self) -> Value {
        Value::Array(self.iter().cloned().map(Value::String).collect())
    }

    fn when_missing() -> Option<Self> {
        Some(Vec::new())
    }
}

impl<T: ConfigField> ConfigField for Option<T> {
    const KIND: FieldKind = T::KIND;
    const OPTIONAL: bool = true;
    const REQUIRED: bool = false;
    const RANGE: Option<(f64, f64)> = T::RANGE;

    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }

    fn when_missing() -> Option<Self> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_check_the_rust_range() {
        assert_eq!(u8::from_value(&json!(255)), Ok(255));
        assert_eq!(
            u8::from_value(&json!(256)).map_err(|e| e.to_string()),
            Err("256 is out of range: must be between 0 and 255".to_owned())
        );
        assert!(u32::from_value(&json!(-1)).is_err());
        assert_eq!(i64::from_value(&json!(30.0)), Ok(30));
        assert!(i64::from_value(&json!(30.5)).is_err());
        assert!(i64::from_value(&json!("30")).is_err());
        assert_eq!(u64::MAX.to_value(), json!(u64::MAX));
        assert_eq!(u128::MAX.to_value(), json!(u128::MAX.to_string()));
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let err = String::from_value(&json!(3)).map_err(|e| e.to_string());
        assert_eq!(err, Err("expected text, found a number".to_owned()));
        let err = bool::from_value(&json!("yes")).map_err(|e| e.to_string());
        assert_eq!(err, Err("expected true or false, found text".to_owned()));
        assert!(<Vec<String>>::from_value(&json!(["a", 1])).is_err());
    }

    #[test]
    fn floats_round_trip() {
        assert_eq!(0.1f32.to_value(), json!(0.1));
        assert_eq!(f32::from_value(&json!(0.5)), Ok(0.5));
        assert!(f32::from_value(&json!(1e300)).is_err());
        assert_eq!(f64::from_value(&json!(2)), Ok(2.0));
        assert_eq!(f64::NAN.to_value(), Value::Null);
    }

    #[test]
    fn option_and_empty_values() {
        assert_eq!(<Option<u8>>::from_value(&Value::Null), Ok(None));
        assert_eq!(<Option<u8>>::from_value(&json!(3)), Ok(Some(3)));
        assert_eq!(Some(3u8).to_value(), json!(3));
        assert_eq!(<Option<u8>>::when_missing(), Some(None));
        assert_eq!(bool::when_missing(), Some(false));
        assert_eq!(String::when_missing(), None);
        const { assert!(!<Option<String>>::REQUIRED && <Option<String>>::OPTIONAL) };
        const { assert!(String::REQUIRED && !bool::REQUIRED) };
    }
}
