//! The SMTP sink against a real SMTP conversation: it keeps every message whole, in arrival
//! order, with its envelope, parses MIME bodies and transfer encodings, refuses connections
//! while stopped and keeps what it had across a restart.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use microshop_testkit::SmtpSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Plain text, 8-bit UTF-8, a folded header.
const PLAIN: &str = "From: Shop <shop@example.com>\r\n\
To: Ada <ada@example.com>,\r\n Bob <bob@example.com>\r\n\
Subject: Your order\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Thank you, Ada: 2 × tea.\r\n";

/// multipart/alternative: base64 text, quoted-printable HTML, a UTF-8 subject as an encoded word.
const ALTERNATIVE: &str = "From: Shop <shop@example.com>\r\n\
To: ada@example.com\r\n\
Subject: =?UTF-8?Q?Bestellung_best=C3=A4tigt_=E2=9C=93?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
R3LDvMOfZSwgQWRhIQ==\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<p>Gr=C3=BC=C3=9Fe, <a href=3D\"https://shop.example/orders/7\">Ada</a>! A lon=\r\n\
g line, softly broken.</p>\r\n\
--b1--\r\n";

fn simple(subject: &str) -> String {
    format!("From: shop@example.com\r\nTo: ada@example.com\r\nSubject: {subject}\r\n\r\nHello.\r\n")
}

/// Reads one reply (the lines of a multi-line one too) and checks its code.
async fn expect_reply(reader: &mut BufReader<TcpStream>, code: &str) {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert!(
            line.starts_with(code),
            "expected {code}, the sink said {line:?}"
        );
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// One SMTP conversation: EHLO, MAIL FROM, RCPT TO per recipient, DATA, QUIT.
async fn send(port: u16, from: &str, to: &[&str], message: &str) {
    let mut smtp = BufReader::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    expect_reply(&mut smtp, "220").await;
    let mut commands = vec![
        ("EHLO test.example\r\n".to_owned(), "250"),
        (format!("MAIL FROM:<{from}> BODY=8BITMIME\r\n"), "250"),
    ];
    commands.extend(to.iter().map(|to| (format!("RCPT TO:<{to}>\r\n"), "250")));
    commands.push(("DATA\r\n".to_owned(), "354"));
    // Dot-stuffing, then the end of the data.
    commands.push((
        format!("{}.\r\n", message.replace("\r\n.", "\r\n..")),
        "250",
    ));
    commands.push(("QUIT\r\n".to_owned(), "221"));
    for (command, code) in commands {
        smtp.get_mut().write_all(command.as_bytes()).await.unwrap();
        expect_reply(&mut smtp, code).await;
    }
}

#[tokio::test]
async fn the_sink_keeps_every_message_parsed_in_order_and_across_a_restart() {
    let mut sink = SmtpSink::start().await;
    assert_eq!(sink.url(), format!("smtp://127.0.0.1:{}", sink.port()));

    send(
        sink.port(),
        "shop@example.com",
        &["ada@example.com", "bob@example.com"],
        PLAIN,
    )
    .await;
    send(
        sink.port(),
        "shop@example.com",
        &["ada@example.com"],
        ALTERNATIVE,
    )
    .await;
    let messages = sink.wait_for(2).await;

    assert_eq!(messages.len(), 2);
    let plain = &messages[0];
    assert_eq!(plain.envelope_from, "shop@example.com");
    assert_eq!(plain.envelope_to, ["ada@example.com", "bob@example.com"]);
    assert_eq!(plain.subject.as_deref(), Some("Your order"));
    assert_eq!(plain.text.as_deref(), Some("Thank you, Ada: 2 × tea.\r\n"));
    assert_eq!(plain.html, None);
    assert_eq!(
        plain.header("to"),
        Some("Ada <ada@example.com>, Bob <bob@example.com>")
    );
    assert_eq!(plain.header("X-Envelope-To"), None);
    assert_eq!(plain.raw, PLAIN);
    let alternative = &messages[1];
    assert_eq!(alternative.envelope_to, ["ada@example.com"]);
    assert_eq!(
        alternative.subject.as_deref(),
        Some("Bestellung bestätigt ✓")
    );
    assert_eq!(
        alternative.header("SUBJECT"),
        Some("=?UTF-8?Q?Bestellung_best=C3=A4tigt_=E2=9C=93?=")
    );
    assert_eq!(alternative.text.as_deref(), Some("Grüße, Ada!"));
    assert_eq!(
        alternative.html.as_deref(),
        Some(
            "<p>Grüße, <a href=\"https://shop.example/orders/7\">Ada</a>! \
             A long line, softly broken.</p>"
        )
    );

    sink.stop().await;
    let refused = TcpStream::connect(("127.0.0.1", sink.port())).await;
    assert_eq!(
        refused.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );

    sink.restart().await;
    send(
        sink.port(),
        "shop@example.com",
        &["carol@example.com"],
        &simple("Third"),
    )
    .await;
    let messages = sink.wait_for(3).await;

    let subjects: Vec<_> = messages
        .iter()
        .map(|m| m.subject.as_deref().unwrap())
        .collect();
    assert_eq!(subjects, ["Your order", "Bestellung bestätigt ✓", "Third"]);
    assert_eq!(messages[2].envelope_to, ["carol@example.com"]);
    assert_eq!(messages[..2], sink.messages()[..2]);
}
