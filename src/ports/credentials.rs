//! The credentials port: what the auth server reads from, and marks on, a
//! request that carries (or should carry) digest credentials.
//!
//! The credentials are the host's own parse of the Authorization /
//! Proxy-Authorization headers (Kamailio's and OpenSIPS's `auth_body_t` in
//! `hdr->parsed`), not a second parse of ours: other modules and the
//! pseudo-variables (`$au`, `$ar`, `is_user()`) read the same structure, and
//! see the marks (authorized, stale) the server leaves on it.
//!
//! Besides the credentials: the request parts a nonce can be bound to
//! (R-URI, Call-ID, From tag, source IP), the To tag (in-dialog or not), the
//! users of From, To and the R-URI (pv_auth_check) and the method as the
//! host's parser classified it.

use super::message::{SipMessage, Which};
use crate::digest::verify::Creds;

/// Which credentials header: the answer to a 401 (Authorization) or to a
/// 407 (Proxy-Authorization).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredKind {
    Authorization,
    ProxyAuthorization,
}

impl CredKind {
    /// What REGISTER answers (a registrar's 401) and what every other
    /// request answers (a proxy's 407), as auth_challenge() picks.
    pub fn for_method(m: Method) -> CredKind {
        if m == Method::Register {
            CredKind::Authorization
        } else {
            CredKind::ProxyAuthorization
        }
    }

    /// The header name (for the mock and log lines).
    pub fn name(self) -> &'static str {
        match self {
            CredKind::Authorization => "Authorization",
            CredKind::ProxyAuthorization => "Proxy-Authorization",
        }
    }
}

/// The request methods the server treats apart, as the host's parser
/// classified the request (case rules and all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Ack,
    Cancel,
    Prack,
    Register,
    Publish,
    /// Any other request method.
    Other,
    /// Not a request (a reply), or no message.
    None,
}

impl Method {
    /// ACK and CANCEL cannot be challenged (ACK gets no reply, CANCEL must
    /// keep the CSeq of what it cancels): they pass.
    pub fn is_ack_or_cancel(self) -> bool {
        matches!(self, Method::Ack | Method::Cancel)
    }
}

/// Whose URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriOf {
    From,
    To,
    Request,
}

/// A request the auth server checks. `Cred` is the host's handle on one
/// parsed credentials header of this request, valid while the request is.
pub trait AuthRequest: SipMessage {
    type Cred: Copy + std::fmt::Debug;

    /// The method as the host's parser classified it.
    fn method_kind(&self) -> Method;

    /// The first credentials header of `kind` whose realm is `realm`
    /// (case-insensitive, as the cores compare), parsed by the host. Ok(None)
    /// when there is none; Err when the headers cannot be parsed.
    fn find_credentials(&self, realm: &[u8], kind: CredKind) -> Result<Option<Self::Cred>, String>;

    /// The fields of parsed credentials, as the host's parser found them.
    fn creds(&self, h: Self::Cred) -> Creds<'_>;

    /// The user part of the username (`alice` of `alice@domain`).
    fn cred_user(&self, h: Self::Cred) -> &[u8];

    /// The core's check that every required directive is there (username,
    /// realm, nonce, uri, response; cnonce and nc with qop).
    fn creds_complete(&self, h: Self::Cred) -> bool;

    /// The stale mark: the nonce was stale, the next challenge says so.
    fn is_stale(&self, h: Self::Cred) -> bool;
    fn set_stale(&self, h: Self::Cred);

    /// Marks the credentials as the ones being authorized: what
    /// [`AuthRequest::authorized`] gives later (consume_credentials, `$au`).
    fn mark_authorized(&self, h: Self::Cred) -> Result<(), String>;

    /// The credentials marked authorized (Authorization first, then
    /// Proxy-Authorization).
    fn authorized(&self) -> Option<Self::Cred>;

    /// The credentials marked authorized among the headers of `kind` (what
    /// an OpenSIPS challenge reads its stale flag from). By default the
    /// first of [`AuthRequest::authorized`], whatever its kind.
    fn authorized_of(&self, kind: CredKind) -> Option<Self::Cred> {
        let _ = kind;
        self.authorized()
    }

    /// Removes the whole credentials header from the request as it is
    /// forwarded.
    fn remove_credentials(&self, h: Self::Cred) -> Result<(), String>;

    /// Can credentials be parsed on this message here? (Kamailio: only in
    /// request and event routes; in failure and reply routes the message is
    /// the transaction's copy, or a reply.)
    fn credentials_readable(&self) -> bool;

    // ---- what a nonce can be bound to ----

    /// The request URI as it is now (a rewritten one included).
    fn ruri(&self) -> &[u8];
    fn callid(&self) -> Option<&[u8]>;
    /// The From or To tag; None when there is none (a To without one: out
    /// of dialog) or the header cannot be parsed.
    fn tag(&self, which: Which) -> Option<&[u8]>;
    /// The source IP as text.
    fn src_ip(&self) -> Option<&[u8]>;

    /// User and host of the From URI, the To URI or the R-URI; None when
    /// the URI cannot be parsed.
    fn uri_user_host(&self, which: UriOf) -> Option<(&[u8], &[u8])>;
}

/// Declares a host's handle on its core's parsed credentials: the two
/// header-type constants, `cred_kind`/`hdr_type` between them and
/// [`CredKind`], `CredHdr` (a credentials header whose `hdr->parsed` is the
/// core's `auth_body_t`) and `creds_of` (the fields of a `dig_cred_t` as
/// [`Creds`]). Kamailio's and OpenSIPS's cores name these structs and
/// fields alike; each host invokes it once in its `host/` with its own
/// bindings:
///
/// ```ignore
/// crate::host_credentials!(super::ffi, super::str_bytes,
///     ffi::_hdr_types_t_HDR_AUTHORIZATION_T, ffi::_hdr_types_t_HDR_PROXYAUTH_T);
/// ```
#[macro_export]
macro_rules! host_credentials {
    ($ffi:path, $str_bytes:path, $auth:expr, $proxy:expr) => {
        use $ffi as cred_ffi;

        pub const HDR_AUTHORIZATION: i32 = $auth;
        pub const HDR_PROXYAUTH: i32 = $proxy;

        /// The credentials kind of a header type a module passes:
        /// Proxy-Authorization for HDR_PROXYAUTH_T, Authorization for any
        /// other (as the stock modules pick the challenge header).
        pub fn cred_kind(hftype: i32) -> $crate::ports::credentials::CredKind {
            if hftype == HDR_PROXYAUTH {
                $crate::ports::credentials::CredKind::ProxyAuthorization
            } else {
                $crate::ports::credentials::CredKind::Authorization
            }
        }

        pub fn hdr_type(kind: $crate::ports::credentials::CredKind) -> i32 {
            match kind {
                $crate::ports::credentials::CredKind::Authorization => HDR_AUTHORIZATION,
                $crate::ports::credentials::CredKind::ProxyAuthorization => HDR_PROXYAUTH,
            }
        }

        /// A credentials header of the current message, parsed by the core
        /// (hdr->parsed is its `auth_body_t`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct CredHdr(::std::ptr::NonNull<cred_ffi::hdr_field>);

        impl CredHdr {
            /// # Safety
            /// `h` must be NULL or a credentials header of the message being
            /// handled whose credentials are parsed (pre_auth found it).
            pub unsafe fn from_raw(h: *mut cred_ffi::hdr_field) -> Option<CredHdr> {
                ::std::ptr::NonNull::new(h).map(CredHdr)
            }

            pub fn raw(self) -> *mut cred_ffi::hdr_field {
                self.0.as_ptr()
            }

            /// The parsed credentials.
            fn body(self) -> *mut cred_ffi::auth_body_t {
                // SAFETY: from_raw's contract: a parsed credentials header of
                // a live message.
                unsafe { (*self.0.as_ptr()).parsed as *mut cred_ffi::auth_body_t }
            }
        }

        /// The fields verification needs, borrowed from parsed credentials.
        ///
        /// # Safety
        /// `d` must be parsed credentials of the current message (or of a
        /// copy the caller keeps alive); the slices borrow its buffers.
        pub unsafe fn creds_of<'a>(
            d: *const cred_ffi::dig_cred_t,
        ) -> $crate::digest::verify::Creds<'a> {
            use $str_bytes as sb;
            // SAFETY: caller contract: every str points into the message
            // buffer (or is NULL/empty).
            unsafe {
                let d = &*d;
                $crate::digest::verify::Creds {
                    username: sb(&d.username.whole),
                    realm: sb(&d.realm),
                    nonce: sb(&d.nonce),
                    uri: sb(&d.uri),
                    response: sb(&d.response),
                    algorithm: sb(&d.alg.alg_str),
                    qop: sb(&d.qop.qop_str),
                    cnonce: sb(&d.cnonce),
                    nc: sb(&d.nc),
                }
            }
        }
    };
}

/// Inside `impl AuthRequest for SipMsg` of a host that declared
/// [`host_credentials!`]: the methods that only read or mark the core's
/// parsed credentials (`creds`, `cred_user`, `creds_complete`, `is_stale`,
/// `set_stale`, `mark_authorized`), the same on both cores.
#[macro_export]
macro_rules! parsed_credentials_methods {
    () => {
        fn creds(&self, h: CredHdr) -> $crate::digest::verify::Creds<'_> {
            // SAFETY: a parsed credentials header of this message.
            unsafe { creds_of(&(*h.body()).digest) }
        }

        fn cred_user(&self, h: CredHdr) -> &[u8] {
            // SAFETY: as above; the user points into the message buffer.
            unsafe { str_bytes(&(*h.body()).digest.username.user) }
        }

        fn creds_complete(&self, h: CredHdr) -> bool {
            // SAFETY: as above; check_dig_cred only reads the fields.
            unsafe { cred_ffi::check_dig_cred(&mut (*h.body()).digest) == 0 }
        }

        fn is_stale(&self, h: CredHdr) -> bool {
            // SAFETY: as above.
            unsafe { (*h.body()).stale != 0 }
        }

        fn set_stale(&self, h: CredHdr) {
            // SAFETY: as above; a plain field of the parsed body, which the
            // worker alone handles.
            unsafe { (*h.body()).stale = 1 }
        }

        fn mark_authorized(&self, h: CredHdr) -> Result<(), String> {
            // SAFETY: valid message and one of its credentials headers.
            if unsafe { cred_ffi::mark_authorized_cred(self.raw(), h.raw()) } < 0 {
                return Err("mark_authorized_cred failed".into());
            }
            Ok(())
        }
    };
}
