//! Request and response bodies: request bodies encoded or refused (never sent
//! empty), and response bodies read with a size cap so a hostile or broken
//! server cannot make the client buffer without bound, with decode failures
//! described without echoing the body (create answers can carry passwords).

use bytes::{Buf, Bytes};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::error::ZpaError;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed or timed out mid-body (the request timeout covers the body too).
    Transport(reqwest::Error),
    /// The server announced or sent more than the cap; nothing past it was kept.
    TooLarge { status: u16, limit: usize },
}

/// The whole body, or [`BodyError::TooLarge`] as soon as it passes `limit` bytes.
pub(crate) async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let status = response.status().as_u16();
    let announced = response.content_length();
    if announced.is_some_and(|announced| announced > limit as u64) {
        return Err(BodyError::TooLarge { status, limit });
    }
    // Sized up front when announced: growing by doubling would hold up to
    // twice a large list's bytes (CBI lists are one unpaged body).
    let mut body = Vec::with_capacity(announced.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { status, limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a 2xx answer could not be read into what the call expects.
#[derive(Debug)]
pub(crate) enum ReadError {
    Body(BodyError),
    /// Not what the call expects; described as [`decode`] describes it.
    Decode(String),
}

/// How many chunks may wait between the connection and the decoder.
const STREAM_CHUNKS: usize = 8;
const READ_BUFFER: usize = 64 * 1024;

/// Decodes a JSON body while it arrives, so a body of thousands of items is
/// never held whole: only the chunks in flight and what `T` makes of each
/// item (e.g. a list decoded item by item into a compact form). serde_json
/// reads from a blocking `Read`, so it runs on the blocking pool and the
/// chunks reach it over a bounded channel.
pub(crate) async fn decode_streamed<T>(mut response: reqwest::Response, limit: usize) -> Result<T, ReadError>
where
    T: DeserializeOwned + Send + 'static,
{
    let status = response.status().as_u16();
    if response.content_length().is_some_and(|announced| announced > limit as u64) {
        return Err(ReadError::Body(BodyError::TooLarge { status, limit }));
    }
    let (chunks, receiver) = tokio::sync::mpsc::channel(STREAM_CHUNKS);
    let decoder = tokio::task::spawn_blocking(move || {
        // serde_json reads a byte at a time: the buffer keeps that off the channel.
        let reader = std::io::BufReader::with_capacity(READ_BUFFER, ChunkReader { receiver, current: Bytes::new() });
        let mut deserializer = serde_json::Deserializer::from_reader(reader);
        T::deserialize(&mut deserializer).and_then(|value| deserializer.end().map(|()| value))
    });
    let mut received = 0usize;
    let mut failed = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len();
                if received > limit {
                    failed = Some(BodyError::TooLarge { status, limit });
                    break;
                }
                // The decoder stopped early (the body is not what it expects):
                // its error says why, the rest of the body is not needed.
                if chunks.send(chunk).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                failed = Some(BodyError::Transport(error));
                break;
            }
        }
    }
    drop(chunks);
    let decoded = decoder.await;
    if let Some(error) = failed {
        return Err(ReadError::Body(error));
    }
    match decoded {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ReadError::Decode(describe(&error, received))),
        Err(join) => Err(ReadError::Decode(format!("the decoder stopped: {join}"))),
    }
}

/// The chunks of a body as a blocking `Read`; the end of the channel is the end of the body.
struct ChunkReader {
    receiver: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Decodes a JSON body; the error says what was wrong and where, never the values.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| describe(&e, body.len()))
}

fn describe(error: &serde_json::Error, len: usize) -> String {
    let what = match error.classify() {
        Category::Eof if len == 0 => "the body is empty".to_owned(),
        Category::Eof => "the body is cut short".to_owned(),
        Category::Syntax => "the body is not valid JSON".to_owned(),
        Category::Io => "the body is unreadable".to_owned(),
        Category::Data => {
            // serde's text names the offending value first ("invalid type: string \"..\", expected ..."):
            // keep only what was expected.
            let text = error.to_string();
            let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(message, _)| message);
            match text.split_once(", expected ") {
                Some((_, expected)) => format!("a value has the wrong type or shape (expected {expected})"),
                None if text.starts_with("missing field") => text.to_owned(),
                None => "a value has the wrong type or shape".to_owned(),
            }
        }
    };
    format!("{what} (line {}, column {}, {len} bytes)", error.line(), error.column())
}

/// A request body that could not be built is an error, never an empty body.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, ZpaError> {
    serde_json::to_value(value).map_err(|e| encode_error(&e))
}

/// A body the client could not encode: an operator bug, never sent.
pub(crate) fn encode_error(error: &serde_json::Error) -> ZpaError {
    ZpaError::Internal { detail: format!("cannot encode request body: {error}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zpa_wire::cbi::CbiProfile;

    #[test]
    fn failures_are_described_without_the_values() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "the body is empty"),
            (br#"{"name":"p","#, "the body is cut short"),
            (b"<html>oops</html>", "the body is not valid JSON"),
            (br#"{"name":"p","enabled":"s3cr3t"}"#, "wrong type or shape (expected a boolean)"),
            (br#"[1,2]"#, "wrong type or shape"),
        ];
        for (body, want) in cases {
            let detail = decode::<CbiProfile>(body).unwrap_err();
            assert!(detail.contains(want), "{detail} lacks {want:?}");
            assert!(!detail.contains("s3cr3t"), "{detail} echoes a value");
        }
        let missing = decode::<zpa_wire::IdOnly>(b"{}").unwrap_err();
        assert!(missing.contains("missing field `id`"), "{missing}");
    }
}
