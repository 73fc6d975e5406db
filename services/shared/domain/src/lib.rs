//! Values every Microshop service shares, free of HTTP, SQL and messaging, so that a service's
//! domain module can use them without pulling in a web framework:
//!
//! - [`Id`]: a positive 64-bit resource id;
//! - [`Money`]: an exact amount in cents, shown as a JSON number (`12999.0`);
//! - [`Page`]: a bounded page of a list;
//! - [`idempotency::IdempotencyKey`]: what makes a retried write safe;
//! - [`email::Email`]: an e-mail address as the shop accepts it;
//! - [`number`]: whole numbers as JSON Schema counts them (`3.0` is the integer 3);
//! - [`ValidationError`] and the text rules of [`validation`]: a value that broke a rule, naming
//!   the field.
//!
//! The web crate adds extractors, OpenAPI schemas (feature `openapi`) and the mapping of a
//! [`ValidationError`] to `422`.

pub mod email;
mod id;
pub mod idempotency;
mod money;
pub mod number;
mod page;
pub mod validation;

pub use id::{ID_RULE, Id, NotAnId};
pub use money::{MAX_PRICE_CENTS, MIN_PRICE_CENTS, Money};
pub use page::Page;
pub use validation::ValidationError;
