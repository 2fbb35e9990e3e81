//! The bridge between the bundle writer, which writes synchronously to a [`std::io::Write`], and
//! whoever reads the bundle asynchronously (an HTTP response body, a file).
//!
//! The writer appends to a shared buffer; after each row the export calls [`Pipe::pump`], which
//! hands the buffer over a bounded channel once it holds [`CHUNK`] bytes. A slow reader makes
//! `pump` wait, so the export never runs ahead of the client by more than the channel's few
//! chunks: memory stays flat however large the bundle.

use std::io;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// Bytes handed over at a time.
pub const CHUNK: usize = 64 * 1024;

/// Chunks that may wait in the channel for the reader.
pub const CHANNEL_CHUNKS: usize = 8;

/// The reader went away (the client disconnected): the export stops.
#[derive(Debug, thiserror::Error)]
#[error("the reader of the bundle went away")]
pub struct Closed;

/// The sending half: pumps what the writer wrote into the channel.
pub struct Pipe {
    buf: Arc<Mutex<Vec<u8>>>,
    tx: mpsc::Sender<Vec<u8>>,
}

/// The [`io::Write`] the bundle writes to.
pub struct PipeWriter {
    buf: Arc<Mutex<Vec<u8>>>,
}

/// A pipe, its writer, and the receiver the bundle's chunks come out of.
pub fn pipe() -> (Pipe, PipeWriter, mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let buf = Arc::new(Mutex::new(Vec::with_capacity(CHUNK * 2)));
    (Pipe { buf: buf.clone(), tx }, PipeWriter { buf }, rx)
}

impl Pipe {
    /// Sends what was written if it reached [`CHUNK`] bytes.
    pub async fn pump(&self) -> Result<(), Closed> {
        let ready = self.buf.lock().map(|b| b.len() >= CHUNK).unwrap_or(false);
        if ready {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends whatever was written.
    pub async fn flush(&self) -> Result<(), Closed> {
        let chunk = match self.buf.lock() {
            Ok(mut b) => std::mem::replace(&mut *b, Vec::with_capacity(CHUNK * 2)),
            Err(_) => return Err(Closed),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        self.tx.send(chunk).await.map_err(|_| Closed)
    }
}

impl io::Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut buf = self
            .buf
            .lock()
            .map_err(|_| io::Error::other("the bundle buffer was poisoned"))?;
        buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[tokio::test]
    async fn chunks_arrive_in_order_and_a_gone_reader_stops_the_writer() {
        let (pipe, mut writer, mut rx) = pipe();
        writer.write_all(&[1; 10]).unwrap();
        pipe.pump().await.unwrap();
        assert!(rx.try_recv().is_err(), "below a chunk nothing is sent");
        writer.write_all(&vec![2; CHUNK]).unwrap();
        pipe.pump().await.unwrap();
        let got = rx.recv().await.unwrap();
        assert_eq!(got.len(), CHUNK + 10);
        assert_eq!(&got[..11], &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
        writer.write_all(&[3]).unwrap();
        pipe.flush().await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), vec![3]);
        drop(rx);
        writer.write_all(&[4]).unwrap();
        assert!(pipe.flush().await.is_err());
    }
}
