//! What the user service tells other services (through its outbox, to `user.events`): the
//! account as it is after the change. Never the password or its hash.

use microshop_events::{Envelope, Event, UserRegistered, UserUpdated};

use crate::db::users::UserRow;

/// `user.registered` for the new account `user`.
pub fn registered(user: &UserRow) -> Envelope {
    Envelope::new(Event::UserRegistered(UserRegistered {
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role.clone(),
    }))
}

/// `user.updated` for `user` as it is now.
pub fn updated(user: &UserRow) -> Envelope {
    Envelope::new(Event::UserUpdated(UserUpdated {
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        role: user.role.clone(),
    }))
}
