//! How a broken domain rule ([`microshop_domain::ValidationError`]) is answered: `422
//! validation_failed`, naming the field.

use microshop_domain::ValidationError;

use crate::ApiError;

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::unprocessable("validation_failed", error.to_string())
    }
}
