//! What clients other than today's Java ones need from the broker, over real sockets: the C++
//! SDK's batches (SEND_MESSAGE with `batch=1`) and the VIP port (`listenPort − 2`) of Java 4.x
//! clients and rocketmq-dashboard.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

/// The C++ SDK sends a batch as SEND_MESSAGE (10) with the header's `batch` written `1`
/// (rocketmq-client-cpp issue #363: Java reads `1` as false and stores the encoded batch as one
/// message). Apogee stores its messages.
#[tokio::test]
async fn given_a_cpp_style_batch_should_store_each_of_its_messages() {
    let c = cluster(|_| {}).await;
    let mut request = send_batch("CppBatch", 0, &["a", "b", "c"]);
    let mut header = send_header("CppBatch", 0, "");
    header.batch = Some(true);
    let mut cpp = RemotingCommand::request(RequestCode::SEND_MESSAGE, &header);
    cpp.ext_fields.insert("batch", "1");
    cpp.body = std::mem::take(&mut request.body);
    let r = c.call(cpp).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    c.wait_max_offset("CppBatch", 0, 3).await;
    let pulled = c.call(pull("CppBatch", 0, 0, "*", 0)).await;
    let bodies: Vec<Vec<u8>> = records(&pulled.body)
        .into_iter()
        .map(|m| m.body.to_vec())
        .collect();
    assert_eq!(bodies, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

/// Java clients up to 4.4 and rocketmq-dashboard (`vipChannelEnabled=true`) send through
/// `listenPort − 2`. It serves sends (and everything else) but not pulls, as Java's broker.
#[tokio::test]
async fn given_a_java_4x_style_send_to_the_vip_port_should_store_it_and_refuse_pulls_there() {
    let c = cluster(|_| {}).await;
    let vip = c
        .broker()
        .vip_addr()
        .expect("the VIP port is on by default")
        .to_string();
    let r = c
        .client
        .invoke(&vip, send_v2("ViaVip", 0, "", b"vip"), WAIT)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let refused = c
        .client
        .invoke(&vip, pull("ViaVip", 0, 0, "*", 0), WAIT)
        .await
        .unwrap();
    assert_eq!(
        refused.response_code(),
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED
    );
    c.wait_max_offset("ViaVip", 0, 1).await;
    let pulled = c.call(pull("ViaVip", 0, 0, "*", 0)).await;
    assert_eq!(&records(&pulled.body)[0].body[..], b"vip");
    let off = cluster(|raw| raw.vip_channel_enable = false).await;
    assert!(off.broker().vip_addr().is_none());
}

/// With a fixed listen port the VIP port is that port minus 2.
#[tokio::test]
async fn given_a_fixed_listen_port_should_open_the_vip_port_two_below() {
    // A port that is free, with its VIP port free too.
    let port = (0..100)
        .find_map(|_| {
            let main = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let port = main.local_addr().ok()?.port();
            std::net::TcpListener::bind(("127.0.0.1", port.checked_sub(2)?)).ok()?;
            Some(port)
        })
        .expect("a free pair of ports");
    let c = cluster(|raw| raw.listen_port = port).await;
    assert_eq!(c.broker().vip_addr().unwrap().port(), port - 2);
}
