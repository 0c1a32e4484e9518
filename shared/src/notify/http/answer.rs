//! Reading a receiver's answer: at most [`MAX_ANSWER`] bytes, of which only the status line and
//! the `Retry-After` header matter. A receiver is untrusted, so nothing here allocates more than
//! the limit or believes a length it announces.

use std::time::Duration;

use time::{OffsetDateTime, format_description::well_known::Rfc2822};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most of an answer ever read, in bytes.
pub const MAX_ANSWER: usize = 4096;
/// The longest `Retry-After` honoured: a receiver cannot park a delivery for longer.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What a receiver answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header (seconds, or an HTTP date relative to `now`), capped at
    /// [`MAX_RETRY_AFTER`]; None when absent, unreadable or beyond the bytes read.
    pub retry_after: Option<Duration>,
}

/// Reads until the final (non-1xx) answer's head is complete, the connection ends, or
/// [`MAX_ANSWER`] bytes were read, and parses it.
pub async fn read_answer<R: AsyncRead + Unpin>(
    stream: &mut R,
    now: OffsetDateTime,
) -> Result<Answer, ReadError> {
    let mut buffer = vec![0_u8; MAX_ANSWER];
    let mut filled = 0;
    loop {
        let read = stream
            .read(&mut buffer[filled..])
            .await
            .map_err(|_| ReadError::Io)?;
        filled += read;
        let ended = read == 0 || filled == MAX_ANSWER;
        match parse(&buffer[..filled], now, ended) {
            Parsed::Complete(answer) => return Ok(answer),
            Parsed::Invalid => return Err(ReadError::Malformed),
            Parsed::NeedMore if ended => {
                return Err(if filled == 0 {
                    ReadError::Empty
                } else {
                    ReadError::Malformed
                });
            }
            Parsed::NeedMore => {}
        }
    }
}

/// Why an answer could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io,
    /// The connection closed before any byte of an answer.
    Empty,
    Malformed,
}

enum Parsed {
    Complete(Answer),
    NeedMore,
    Invalid,
}

/// Parses the answer in `bytes`, skipping interim 1xx heads. With `ended` (nothing more will be
/// read), a final answer whose head is cut off still counts by its status line.
fn parse(bytes: &[u8], now: OffsetDateTime, ended: bool) -> Parsed {
    let mut rest = bytes;
    loop {
        let (head, complete) = match find(rest, b"\r\n\r\n") {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        let Some(line_end) = find(head, b"\r\n").or(complete.then_some(head.len())) else {
            return if ended && !head.is_empty() {
                status_only(head)
            } else {
                Parsed::NeedMore
            };
        };
        let Some(status) = status_of(&head[..line_end]) else {
            return Parsed::Invalid;
        };
        if (100..200).contains(&status) && status != 101 {
            if !complete {
                return Parsed::NeedMore;
            }
            rest = &rest[head.len() + 4..];
            continue;
        }
        if !complete && !ended {
            return Parsed::NeedMore;
        }
        let retry_after = headers(&head[line_end..])
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, value)| retry_after(value, now));
        return Parsed::Complete(Answer {
            status,
            retry_after,
        });
    }
}

fn status_only(line: &[u8]) -> Parsed {
    match status_of(line) {
        Some(status) => Parsed::Complete(Answer {
            status,
            retry_after: None,
        }),
        None => Parsed::Invalid,
    }
}

/// `HTTP/1.x NNN …` → NNN.
fn status_of(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 3 && !rest[3..].starts_with(' ') {
        return None;
    }
    code.parse().ok().filter(|code| (100..600).contains(code))
}

/// The `name: value` lines after the status line (incomplete or unreadable lines skipped).
fn headers(block: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    block
        .split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| line.trim_end_matches('\r').split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
}

fn retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
        Duration::try_from(at - now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-30 04:00:00 UTC);

    async fn read(bytes: &[u8]) -> Result<Answer, ReadError> {
        read_answer(&mut &bytes[..], NOW).await
    }

    #[tokio::test]
    async fn status_and_retry_after_in_seconds_or_as_a_date() {
        let answer = read(b"HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\n\r\n").await;
        assert_eq!(answer.unwrap().retry_after, Some(Duration::from_secs(120)));
        let dated = b"HTTP/1.1 503 Busy\r\nretry-after: Mon, 30 Nov 2026 04:10:00 GMT\r\n\r\n";
        let answer = read(dated).await.unwrap();
        assert_eq!(answer.status, 503);
        assert_eq!(answer.retry_after, Some(Duration::from_secs(600)));
        let huge = read(b"HTTP/1.1 429 x\r\nRetry-After: 99999999\r\n\r\n").await;
        assert_eq!(huge.unwrap().retry_after, Some(MAX_RETRY_AFTER));
        let plain = read(b"HTTP/1.0 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(
            plain.unwrap(),
            Answer {
                status: 204,
                retry_after: None
            }
        );
        let no_reason = read(b"HTTP/1.1 200\r\n\r\n").await;
        assert_eq!(no_reason.unwrap().status, 200);
    }

    #[tokio::test]
    async fn interim_answers_are_skipped() {
        let answer = read(b"HTTP/1.1 103 Early\r\nlink: x\r\n\r\nHTTP/1.1 201 Created\r\n\r\n");
        assert_eq!(answer.await.unwrap().status, 201);
    }

    #[tokio::test]
    async fn a_head_longer_than_the_limit_counts_by_its_status_line() {
        let mut long = b"HTTP/1.1 500 Oops\r\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 3 * MAX_ANSWER));
        long.extend(b"\r\nRetry-After: 5\r\n\r\n");
        let answer = read(&long).await.unwrap();
        assert_eq!(
            answer,
            Answer {
                status: 500,
                retry_after: None
            }
        );
    }

    #[tokio::test]
    async fn garbage_and_silence_are_errors() {
        assert!(matches!(read(b"").await, Err(ReadError::Empty)));
        assert!(matches!(
            read(b"SSH-2.0-OpenSSH\r\n").await,
            Err(ReadError::Malformed)
        ));
        assert!(matches!(
            read(b"HTTP/1.1 20").await,
            Err(ReadError::Malformed)
        ));
        assert!(matches!(
            read(b"HTTP/1.1 999 x\r\n\r\n").await,
            Err(ReadError::Malformed)
        ));
        assert!(matches!(
            read(b"HTTP/2 200\r\n\r\n").await,
            Err(ReadError::Malformed)
        ));
    }
}
