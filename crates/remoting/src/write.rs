//! A connection's writer task: drains its bounded queue, batching frames into as few writes as
//! it can. Heads and small bodies are copied into one buffer; a large body (a pull's messages,
//! a batch of sends) goes out beside its head in one vectored write, never copied.

use std::io::IoSlice;

use apogee_protocol::frame::encode_head;
use apogee_protocol::{RemotingCommand, ResponseCode};
use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::connection::Connection;
use crate::{RemotingError, TransportConfig};

/// The buffer heads and small bodies are gathered in.
const BUFFER_BYTES: usize = 64 * 1024;
/// Bodies from this size up bypass the buffer.
pub(crate) const DIRECT_BODY_BYTES: usize = 16 * 1024;

pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    conn: Connection,
    write_half: W,
    mut rx: mpsc::Receiver<RemotingCommand>,
    config: TransportConfig,
) {
    let mut writer = BufWriter::with_capacity(BUFFER_BYTES, write_half);
    let mut head = BytesMut::with_capacity(1024);
    loop {
        let first = tokio::select! {
            () = conn.closed() => break,
            cmd = rx.recv() => cmd,
        };
        let Some(first) = first else { break };
        let mut next = Some(first);
        while let Some(cmd) = next {
            if let Err(e) = write_one(&conn, &mut writer, &mut head, cmd, &config).await {
                tracing::debug!(peer = %conn.peer(), error = %e, "write failed");
                conn.close();
                return;
            }
            next = rx.try_recv().ok();
        }
        if writer.flush().await.is_err() {
            conn.close();
            return;
        }
    }
    let _ = writer.shutdown().await;
}

async fn write_one<W: AsyncWrite + Unpin>(
    conn: &Connection,
    writer: &mut BufWriter<W>,
    head: &mut BytesMut,
    cmd: RemotingCommand,
    config: &TransportConfig,
) -> std::io::Result<()> {
    head.clear();
    match encode_head(&cmd, &config.limits, head) {
        Ok(()) if cmd.body.len() >= DIRECT_BODY_BYTES => {
            // What the buffer holds goes first, then head and body in one write.
            writer.flush().await?;
            write_all_vectored(
                writer.get_mut(),
                &mut [IoSlice::new(head), IoSlice::new(&cmd.body)],
            )
            .await
        }
        Ok(()) => {
            writer.write_all(head).await?;
            writer.write_all(&cmd.body).await
        }
        Err(e) if cmd.is_response() => {
            tracing::error!(peer = %conn.peer(), error = %e, "response cannot be encoded; answering SYSTEM_ERROR");
            let fallback =
                RemotingCommand::response_to(&cmd, ResponseCode::SYSTEM_ERROR, Some(e.to_string()));
            head.clear();
            if encode_head(&fallback, &config.limits, head).is_ok() {
                writer.write_all(head).await?;
            }
            Ok(())
        }
        Err(e) => {
            if let Some(tx) = conn.pending().remove(&cmd.opaque) {
                let _ = tx.send(Err(RemotingError::Encode(e)));
            }
            Ok(())
        }
    }
}

/// Writes every byte of `parts`, in order, with as few vectored writes as the stream takes.
pub(crate) async fn write_all_vectored<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut parts: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    // Drops leading empty parts: nothing to write is then an empty list, not a zero write.
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match writer.write_vectored(parts).await? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => IoSlice::advance_slices(&mut parts, n),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
