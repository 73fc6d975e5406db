//! `stock_reservations` and `stock_reservation_lines`: one row per order whose stock was taken
//! (or whose cancellation came first), with one line per product, so a cancelled order gives
//! every line back exactly once. A line's `status` follows its reservation's through the foreign
//! key's `on update cascade`, so only the reservation's status is ever written.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::domain::ledger::Reservation;
use crate::domain::reservation::{Line, ReservationState};

/// The products the lines of `orders`' reservations name, stored now (read without locks:
/// what a batch must lock besides the products its events name).
pub async fn products_of(conn: &mut PgConnection, orders: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"select distinct product_id as "product_id!" from stock_reservation_lines
           where order_id = any($1)"#,
        orders,
    )
    .fetch_all(conn)
    .await
}

/// Locks the reservations of `orders` that exist, in order id order, until the transaction
/// ends (the caller holds its products' locks already), and returns them with their lines.
/// A reservation in a state this version does not know is left out.
pub async fn lock(
    conn: &mut PgConnection,
    orders: &[i64],
) -> Result<HashMap<i64, Reservation>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        "select order_id, status from stock_reservations where order_id = any($1)
         order by order_id for update",
        orders,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut found: HashMap<i64, Reservation> = rows
        .into_iter()
        .filter_map(|row| {
            let state = ReservationState::parse(&row.status)?;
            let lines = Vec::new();
            Some((row.order_id, Reservation { state, lines }))
        })
        .collect();
    if found.is_empty() {
        return Ok(found);
    }
    let known: Vec<i64> = found.keys().copied().collect();
    let lines = sqlx::query!(
        "select order_id, product_id, quantity from stock_reservation_lines
         where order_id = any($1) order by order_id, product_id",
        &known,
    )
    .fetch_all(conn)
    .await?;
    for line in lines {
        if let Some(reservation) = found.get_mut(&line.order_id) {
            reservation.lines.push(Line {
                product_id: line.product_id,
                quantity: line.quantity,
            });
        }
    }
    Ok(found)
}

/// Records `made` (new reservations by order id, in their state now) and their lines, in two
/// statements.
///
/// The retired `product_id` and `quantity` columns are filled for a single-line reservation
/// only: pods of the previous version still read them during a rolling upgrade (see the
/// migration `reservation_lines`, whose trigger also writes that line; the insert of the lines
/// skips it).
pub async fn record(
    conn: &mut PgConnection,
    made: &[(i64, &Reservation)],
) -> Result<(), sqlx::Error> {
    if made.is_empty() {
        return Ok(());
    }
    let orders: Vec<i64> = made.iter().map(|(order_id, _)| *order_id).collect();
    let states: Vec<String> = made
        .iter()
        .map(|(_, r)| r.state.as_str().to_owned())
        .collect();
    let single = |r: &Reservation| match r.lines.as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    let products: Vec<Option<i64>> = made
        .iter()
        .map(|(_, r)| single(r).map(|l| l.product_id))
        .collect();
    let quantities: Vec<Option<i64>> = made
        .iter()
        .map(|(_, r)| single(r).map(|l| l.quantity))
        .collect();
    sqlx::query!(
        "insert into stock_reservations (order_id, status, product_id, quantity, released_at)
         select o, s, p, q, case when s = 'released' then now() end
         from unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) as t(o, s, p, q)",
        &orders,
        &states,
        // Null elements: `as _` skips the macro's check, which knows only arrays of non-null.
        &products as _,
        &quantities as _,
    )
    .execute(&mut *conn)
    .await?;

    let lines = made
        .iter()
        .flat_map(|(order_id, r)| r.lines.iter().map(move |l| (*order_id, r.state, *l)));
    let (mut line_orders, mut line_states, mut line_products, mut line_quantities) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (order_id, state, line) in lines {
        line_orders.push(order_id);
        line_states.push(state.as_str().to_owned());
        line_products.push(line.product_id);
        line_quantities.push(line.quantity);
    }
    if line_orders.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into stock_reservation_lines (order_id, status, product_id, quantity)
         select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])
         on conflict (order_id, product_id) do nothing",
        &line_orders,
        &line_states,
        &line_products,
        &line_quantities,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the held reservations of `orders` (locked by [`lock`]) to released, their lines with
/// them; returns the orders it moved.
pub async fn release(conn: &mut PgConnection, orders: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        "update stock_reservations set status = 'released', released_at = now()
         where order_id = any($1) and status = 'held'
         returning order_id",
        orders,
    )
    .fetch_all(conn)
    .await
}
