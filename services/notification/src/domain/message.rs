//! What each notification says. Every message is a subject, a heading, paragraphs and at most
//! one link, rendered twice from `templates/`: as plain text and as HTML, where every value
//! (a user's name, a tracking number, an admin's text) is escaped.

use askama::Template;
use microshop_domain::Money;

/// A link under a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What the reader sees.
    pub label: String,
    /// Where it goes.
    pub url: String,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The e-mail's subject.
    pub subject: String,
    /// The plain-text body (the SMS text, for a text message).
    pub text: String,
    /// The HTML body (e-mail only).
    pub html: Option<String>,
}

/// The messages the shop sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A new account.
    Welcome {
        /// The user's name.
        name: String,
    },
    /// An order's stock is reserved: it waits for payment.
    OrderConfirmed {
        /// The order.
        order_id: i64,
        /// What the buyer owes, in cents.
        total_cents: i64,
    },
    /// An order could not be accepted.
    OrderRejected {
        /// The order.
        order_id: i64,
        /// Why.
        reason: String,
    },
    /// The money for an order arrived.
    OrderPaid {
        /// The order.
        order_id: i64,
        /// Paid, in cents.
        amount_cents: i64,
    },
    /// An order left the warehouse.
    OrderShipped {
        /// The order.
        order_id: i64,
        /// The carrier's tracking number.
        tracking_number: String,
    },
    /// An order arrived.
    OrderDelivered {
        /// The order.
        order_id: i64,
    },
    /// An order was cancelled.
    OrderCancelled {
        /// The order.
        order_id: i64,
        /// Why.
        reason: String,
        /// Whether its payment is refunded.
        refund: bool,
    },
    /// Money went back.
    Refunded {
        /// The order.
        order_id: i64,
        /// Refunded, in cents.
        amount_cents: i64,
    },
    /// A product is running out (to admins).
    LowStock {
        /// The product.
        product_id: i64,
        /// Units available.
        stock: i64,
        /// The threshold it reached.
        threshold: i64,
    },
    /// An admin's own message.
    Custom {
        /// Subject.
        subject: String,
        /// Plain text.
        text: String,
    },
}

#[derive(Template)]
#[template(path = "mail.html")]
struct Html<'a> {
    subject: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a Link>,
}

#[derive(Template)]
#[template(path = "mail.txt")]
struct Text<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a Link>,
}

/// Money as people read it: `129.99`.
fn money(cents: i64) -> String {
    format!("{:.2}", Money::from_cents(cents).as_decimal())
}

impl Message {
    /// The template's name, stored with the notification.
    pub fn template(&self) -> &'static str {
        match self {
            Self::Welcome { .. } => "welcome",
            Self::OrderConfirmed { .. } => "order_confirmed",
            Self::OrderRejected { .. } => "order_rejected",
            Self::OrderPaid { .. } => "order_paid",
            Self::OrderShipped { .. } => "order_shipped",
            Self::OrderDelivered { .. } => "order_delivered",
            Self::OrderCancelled { .. } => "order_cancelled",
            Self::Refunded { .. } => "refunded",
            Self::LowStock { .. } => "low_stock",
            Self::Custom { .. } => "custom",
        }
    }

    /// The order a message is about.
    fn order_id(&self) -> Option<i64> {
        match self {
            Self::OrderConfirmed { order_id, .. }
            | Self::OrderRejected { order_id, .. }
            | Self::OrderPaid { order_id, .. }
            | Self::OrderShipped { order_id, .. }
            | Self::OrderDelivered { order_id }
            | Self::OrderCancelled { order_id, .. }
            | Self::Refunded { order_id, .. } => Some(*order_id),
            _ => None,
        }
    }

    /// Subject, heading, paragraphs and link; `name` greets the reader when known.
    fn parts(&self, name: Option<&str>, shop_url: &str) -> (String, Vec<String>, Option<Link>) {
        let greeting = name.map_or_else(|| "Hello,".to_owned(), |name| format!("Hello {name},"));
        let link = self.order_id().map(|id| Link {
            label: format!("Order {id}"),
            url: format!("{}/orders/{id}", shop_url.trim_end_matches('/')),
        });
        let (subject, mut paragraphs) = match self {
            Self::Welcome { name } => {
                let welcome = vec![
                    format!("Hello {name},"),
                    "your account is ready. Happy shopping!".to_owned(),
                ];
                let visit = Link {
                    label: "Visit the shop".to_owned(),
                    url: shop_url.to_owned(),
                };
                return ("Welcome to Microshop".to_owned(), welcome, Some(visit));
            }
            Self::LowStock {
                product_id,
                stock,
                threshold,
            } => (
                format!("Low stock: product {product_id}"),
                vec![format!(
                    "product {product_id} has {stock} units left (the low-stock threshold is \
                     {threshold}). Restock it with PUT /api/inventory/{product_id}."
                )],
            ),
            Self::Custom { subject, text } => (
                subject.clone(),
                text.split("\n\n").map(str::to_owned).collect(),
            ),
            order => order.about_order(),
        };
        if self.order_id().is_some() || matches!(self, Self::Custom { .. }) && name.is_some() {
            paragraphs.insert(0, greeting);
        }
        (subject, paragraphs, link)
    }

    /// Subject and paragraphs of a message about an order.
    fn about_order(&self) -> (String, Vec<String>) {
        match self {
            Self::OrderConfirmed {
                order_id,
                total_cents,
            } => (
                format!("Order {order_id} confirmed"),
                vec![format!(
                    "we have reserved everything in order {order_id}. It comes to {}; please pay \
                     within 30 minutes, or the order is cancelled.",
                    money(*total_cents)
                )],
            ),
            Self::OrderRejected { order_id, reason } => (
                format!("Order {order_id} could not be accepted"),
                vec![format!(
                    "we could not accept order {order_id}: {reason}. Nothing was charged."
                )],
            ),
            Self::OrderPaid {
                order_id,
                amount_cents,
            } => (
                format!("Payment received for order {order_id}"),
                vec![format!(
                    "we received your payment of {} for order {order_id}. We will tell you when \
                     it ships.",
                    money(*amount_cents)
                )],
            ),
            Self::OrderShipped {
                order_id,
                tracking_number,
            } => (
                format!("Order {order_id} has shipped"),
                vec![format!(
                    "order {order_id} is on its way. Tracking number: {tracking_number}."
                )],
            ),
            Self::OrderDelivered { order_id } => (
                format!("Order {order_id} was delivered"),
                vec![format!("order {order_id} was delivered. Enjoy!")],
            ),
            Self::OrderCancelled {
                order_id,
                reason,
                refund,
            } => {
                let mut paragraphs = vec![format!("order {order_id} was cancelled: {reason}.")];
                if *refund {
                    paragraphs.push(
                        "Your payment will be refunded; we will write again when it is.".to_owned(),
                    );
                }
                (format!("Order {order_id} was cancelled"), paragraphs)
            }
            Self::Refunded {
                order_id,
                amount_cents,
            } => (
                format!("Refund for order {order_id}"),
                vec![format!(
                    "we refunded {} for order {order_id}. Depending on your bank it can take a \
                     few days to appear.",
                    money(*amount_cents)
                )],
            ),
            other => (other.template().to_owned(), Vec::new()),
        }
    }

    /// The message for `name` (when known), linking into the shop at `shop_url`.
    pub fn render(&self, name: Option<&str>, shop_url: &str) -> Rendered {
        let (subject, paragraphs, link) = self.parts(name, shop_url);
        let (heading, body) = match paragraphs.split_first() {
            // The greeting (or the first paragraph) is the heading.
            Some((first, rest)) if first.ends_with(',') => (first.clone(), rest.to_vec()),
            _ => (subject.clone(), paragraphs),
        };
        let text = Text {
            heading: &heading,
            paragraphs: &body,
            link: link.as_ref(),
        }
        .render()
        .expect("the text template renders");
        let html = Html {
            subject: &subject,
            heading: &heading,
            paragraphs: &body,
            link: link.as_ref(),
        }
        .render()
        .expect("the HTML template renders");
        Rendered {
            subject,
            text,
            html: Some(html),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_html_and_kept_in_text() {
        let message = Message::OrderShipped {
            order_id: 7,
            tracking_number: "<script>alert(1)</script>".to_owned(),
        };
        let rendered = message.render(Some("Ann & <Bob>"), "http://shop.test");
        let html = rendered.html.unwrap();
        assert!(html.contains("Hello Ann &#38; &#60;Bob&#62;,"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(rendered.text.contains("<script>alert(1)</script>"));
        assert!(rendered.text.contains("http://shop.test/orders/7"));
        assert_eq!(rendered.subject, "Order 7 has shipped");
    }

    #[test]
    fn money_is_shown_to_the_cent() {
        let rendered = Message::OrderConfirmed {
            order_id: 3,
            total_cents: 1_299,
        }
        .render(None, "http://shop.test/");
        assert!(rendered.text.contains("12.99"), "{}", rendered.text);
        assert!(rendered.text.starts_with("Hello,"));
        assert!(rendered.text.contains("http://shop.test/orders/3"));
    }
}
