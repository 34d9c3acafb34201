//! Field errors, reported all at once like a Django form's `errors`.

use std::fmt;

/// One problem with one field: which field, and a message an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name (the stored key and form input name).
    pub field: String,
    /// What is wrong, in lowercase, phrased for the operator ("must be at least 1").
    pub message: String,
}

impl FieldError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every field error of one config at once, so a form can show them all in one round trip
/// and a stored config that no longer fits is reported field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    errors: Vec<FieldError>,
}

impl ConfigErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an error.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Adds an error for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push(FieldError::new(field, message));
    }

    /// Whether there is no error.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The errors in the order they were found (field declaration order).
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The errors of one field.
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.errors.iter().filter(move |error| error.field == field)
    }

    /// Whether `field` has at least one error.
    pub fn has_field(&self, field: &str) -> bool {
        self.for_field(field).next().is_some()
    }

    /// Orders the errors by the position of their field in `fields` (errors found in
    /// separate passes then read top to bottom like the form).
    pub(crate) fn sort_by_field_order(&mut self, fields: &[super::schema::FieldSchema]) {
        let position = |name: &str| fields.iter().position(|field| field.name == name);
        self.errors.sort_by_key(|error| position(&error.field));
    }

    /// `Ok(value)` when there is no error, else `Err(self)`: the last step of collecting.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// Every field's error, `field: message`, separated by `"; "`. No prefix: the error that
/// holds these (`Error::InvalidConfig`, a plugin's "invalid config") says what they are about.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errors.is_empty() {
            return f.write_str("no field errors");
        }
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl From<FieldError> for ConfigErrors {
    fn from(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl Extend<FieldError> for ConfigErrors {
    fn extend<I: IntoIterator<Item = FieldError>>(&mut self, iter: I) {
        self.errors.extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_every_field() {
        let mut errors = ConfigErrors::new();
        assert_eq!(errors.to_string(), "no field errors");
        errors.add("a", "this field is required");
        assert_eq!(errors.to_string(), "a: this field is required");
        errors.add("b", "must be at least 1");
        assert_eq!(
            errors.to_string(),
            "a: this field is required; b: must be at least 1"
        );
        assert!(errors.has_field("b") && !errors.has_field("c"));
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn into_result_is_ok_only_without_errors() {
        assert_eq!(ConfigErrors::new().into_result(1), Ok(1));
        let errors = ConfigErrors::from(FieldError::new("a", "bad"));
        assert!(errors.into_result(1).is_err());
    }
}
