//! The RabbitMQ topology of DESIGN §5, declared from `microshop-events` (the definition the
//! services declare too) with `microshop-messaging`'s declaration code.

use microshop_events::Topology;
use microshop_messaging::Broker;
use secrecy::SecretString;
use url::Url;

use super::ProvisionError;

/// `uri` with its vhost replaced by `vhost` (URL-encoded, so `/` becomes `%2F`).
pub fn with_vhost(uri: &str, vhost: &str) -> Result<String, ProvisionError> {
    let mut url = Url::parse(uri).map_err(|e| ProvisionError::InvalidAmqpUri(e.to_string()))?;
    if !matches!(url.scheme(), "amqp" | "amqps") {
        return Err(ProvisionError::InvalidAmqpUri(format!(
            "the scheme is {:?}, expected amqp or amqps",
            url.scheme()
        )));
    }
    url.path_segments_mut()
        .map_err(|()| ProvisionError::InvalidAmqpUri("it has no host".into()))?
        .clear()
        .push(vhost);
    Ok(url.to_string())
}

/// Declares every exchange, queue and binding of `topology` on the broker at `url`.
pub async fn declare(url: &str, topology: &Topology) -> Result<(), ProvisionError> {
    let broker = connect(url);
    let channel = broker.channel().await.map_err(amqp)?;
    microshop_messaging::declare(&channel, topology)
        .await
        .map_err(amqp)?;
    let _ = channel.close(200, "declared".into()).await;
    broker.close().await;
    Ok(())
}

/// Deletes every queue (messages included) and exchange of `topology`.
pub async fn delete(url: &str, topology: &Topology) -> Result<(), ProvisionError> {
    let broker = connect(url);
    let channel = broker.channel().await.map_err(amqp)?;
    microshop_messaging::delete(&channel, topology).await;
    let _ = channel.close(200, "deleted".into()).await;
    broker.close().await;
    Ok(())
}

fn connect(url: &str) -> Broker {
    Broker::new(SecretString::from(url.to_owned()), "microshop-operator")
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(amqp)`
fn amqp(error: microshop_messaging::MessagingError) -> ProvisionError {
    ProvisionError::RabbitMq(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_vhost_is_encoded() {
        assert_eq!(
            with_vhost("amqp://guest:guest@rabbitmq:5672/%2f", "/").expect("valid"),
            "amqp://guest:guest@rabbitmq:5672/%2F"
        );
        assert_eq!(
            with_vhost("amqps://u:p@mq.example/old?heartbeat=10", "shop").expect("valid"),
            "amqps://u:p@mq.example/shop?heartbeat=10"
        );
    }

    #[test]
    fn other_schemes_are_refused_with_the_reason() {
        let error = with_vhost("http://rabbitmq:15672/", "/").expect_err("not amqp");
        assert!(error.to_string().contains("expected amqp"), "{error}");
    }
}
