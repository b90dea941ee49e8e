//! The reply port: answering the request a script function runs for (a
//! challenge, an error), and adding header lines to the reply it will get
//! (Authentication-Info, a challenge another function sends).

/// How a reply is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// Through the transaction when the request has one (it then answers
    /// retransmissions), else statelessly.
    Auto,
    /// Always statelessly (Kamailio's `force_stateless_reply`).
    Stateless,
}

/// Replying to a request.
pub trait Reply {
    /// Adds header lines (each with its CRLF) to the reply this request
    /// will get, whoever sends it.
    fn add_reply_header(&self, lines: &[u8]) -> Result<(), String>;

    /// Sends a reply with the header lines added so far.
    fn send_reply(&self, code: u16, reason: &str, how: Sending) -> Result<(), String>;
}
