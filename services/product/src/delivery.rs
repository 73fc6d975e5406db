//! What the product service learns from shipped and delivered orders: fulfilled reservations and
//! verified purchases.
