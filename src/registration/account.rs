//! One remote registration account: a `uacreg` row checked field by field, and
//! the text of the REGISTER that keeps it registered. Pure: no host types.

use std::fmt;

/// Flag bits as the stock module keeps (and `uac.reg_info` prints) them.
pub const FL_DISABLED: u32 = 1 << 0;
pub const FL_ONGOING: u32 = 1 << 1;
pub const FL_ONLINE: u32 = 1 << 2;
pub const FL_AUTHSENT: u32 = 1 << 3;
pub const FL_INIT: u32 = 1 << 4;
/// Registrant accounts only (never printed): the single-binding rule's
/// `Contact: *` is due or in flight ([`single_binding`]).
pub const FL_CLEARING: u32 = 1 << 5;
/// Registrant accounts only: the bindings were cleared for this
/// registration; its 200 is taken even if it still lists others.
pub const FL_CLEARED: u32 = 1 << 6;

/// OpenSIPS uac_registrant's rule for a row whose binding parameters carry
/// both `reg-id` and `+sip.instance` (RFC 5626 outbound): the AOR must have
/// this one binding only, so a 200 that lists several is answered with
/// `Contact: *` and `Expires: 0`, and the binding registered again in a new
/// call. (Stock compares the parameter names' first letters only, so that
/// `reg-idx` counts too; we take the names as they are, case-insensitive.)
pub fn single_binding(binding_params: &[u8]) -> bool {
    let has = |name: &[u8]| {
        binding_params.split(|&b| b == b';').any(|p| {
            let n = p.split(|&b| b == b'=').next().unwrap_or_default();
            n.trim_ascii().eq_ignore_ascii_case(name)
        })
    };
    has(b"reg-id") && has(b"+sip.instance")
}

/// The text columns of the 5.6 `uacreg` table, in the order the stock module
/// queries them (expires, flags and reg_delay are integers, between
/// auth_proxy and contact_addr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    LUuid = 0,
    LUsername,
    LDomain,
    RUsername,
    RDomain,
    Realm,
    AuthUsername,
    AuthPassword,
    AuthHa1,
    AuthProxy,
    ContactAddr,
    Socket,
}

pub const TEXT_FIELDS: usize = 12;

/// A text field of an account: an index into its texts. The uacreg table's
/// [`Field`] and the registrant table's [`RegField`] both name them.
pub trait FieldId: Copy {
    fn index(self) -> usize;
}

impl FieldId for Field {
    fn index(self) -> usize {
        self as usize
    }
}

/// The text columns of OpenSIPS's `registrant` table (uac_registrant), as
/// an account keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegField {
    /// The registrar URI: the Request-URI (and the digest uri).
    Registrar = 0,
    /// The outbound proxy (empty: none).
    Proxy,
    /// The address of record: To (and From without a third party).
    Aor,
    /// The third-party registrant: From (empty: the AOR).
    ThirdParty,
    Username,
    Password,
    /// The Contact URI.
    Binding,
    /// Contact parameters after the URI (`;reg-id=1...`, empty: none).
    BindingParams,
    /// The local socket (`udp:127.0.0.1:5060`, empty: the host picks).
    Socket,
    /// The sharing tag's name (empty: none; its cluster is
    /// [`AccountData::cluster_id`]).
    ShTag,
}

impl FieldId for RegField {
    fn index(self) -> usize {
        self as usize
    }
}

/// How an account's REGISTER looks and which contact of a 200 is ours: the
/// stock module's layout on each host. The registry keeps one per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// Kamailio uac's `uacreg` ([`Field`]): Request-URI `sip:r_domain`,
    /// From = To = `sip:r_username@r_domain`, `Contact:
    /// <sip:l_uuid@contact_addr>` and an `Expires` header; our contact is
    /// the one whose user part is the l_uuid. Identity: the l_uuid.
    #[default]
    Uacreg,
    /// OpenSIPS uac_registrant's `registrant` ([`RegField`]): Request-URI =
    /// registrar, To = aor, From = the third party (or the aor), `Contact:
    /// <binding_URI>binding_params;expires=N`; our contact is the binding
    /// URI. Identity: (aor, binding URI, registrar), as stock.
    Registrant,
}

impl Shape {
    /// The fields that identify an account (unique in a table).
    pub fn key_fields(self) -> &'static [usize] {
        match self {
            Shape::Uacreg => &[Field::LUuid as usize],
            Shape::Registrant => &[
                RegField::Aor as usize,
                RegField::Binding as usize,
                RegField::Registrar as usize,
            ],
        }
    }

    /// The fields most accounts of a table share with others (one carrier's
    /// registrar, proxy, domain, socket), as a bit set: the registry keeps
    /// each distinct combination once.
    pub fn shared_fields(self) -> u16 {
        let bits = |fs: &[usize]| fs.iter().fold(0u16, |m, &i| m | 1 << i);
        match self {
            Shape::Uacreg => bits(&[
                Field::LDomain as usize,
                Field::RDomain as usize,
                Field::Realm as usize,
                Field::AuthProxy as usize,
                Field::ContactAddr as usize,
                Field::Socket as usize,
            ]),
            Shape::Registrant => bits(&[
                RegField::Registrar as usize,
                RegField::Proxy as usize,
                RegField::ThirdParty as usize,
                RegField::BindingParams as usize,
                RegField::Socket as usize,
                RegField::ShTag as usize,
            ]),
        }
    }

    /// What log lines call an account: its l_uuid, or its AOR and binding.
    pub fn name_of<'a>(self, get: impl Fn(usize) -> &'a [u8]) -> String {
        match self {
            Shape::Uacreg => String::from_utf8_lossy(get(Field::LUuid as usize)).into_owned(),
            Shape::Registrant => format!(
                "{} -> {}",
                String::from_utf8_lossy(get(RegField::Aor as usize)),
                String::from_utf8_lossy(get(RegField::Binding as usize))
            ),
        }
    }

    /// The REGISTER of an account for `expires` (0: unregister).
    pub fn request<'a>(self, get: impl Fn(usize) -> &'a [u8], expires: u32) -> RegisterRequest {
        match self {
            Shape::Uacreg => register_request(
                get(Field::LUuid as usize),
                get(Field::ContactAddr as usize),
                get(Field::RUsername as usize),
                get(Field::RDomain as usize),
                expires,
            ),
            Shape::Registrant => {
                let g = |f: RegField| get(f as usize);
                let third = g(RegField::ThirdParty);
                let mut headers = Vec::with_capacity(40 + g(RegField::Binding).len());
                headers.extend_from_slice(b"Contact: <");
                headers.extend_from_slice(g(RegField::Binding));
                headers.push(b'>');
                headers.extend_from_slice(g(RegField::BindingParams));
                headers.extend_from_slice(b";expires=");
                headers.extend_from_slice(expires.to_string().as_bytes());
                headers.extend_from_slice(b"\r\n");
                RegisterRequest {
                    ruri: g(RegField::Registrar).to_vec(),
                    aor: g(RegField::Aor).to_vec(),
                    from: if third.is_empty() {
                        g(RegField::Aor).to_vec()
                    } else {
                        third.to_vec()
                    },
                    headers,
                }
            }
        }
    }

    /// (outbound proxy, socket) fields.
    pub fn route_fields(self) -> (usize, usize) {
        match self {
            Shape::Uacreg => (Field::AuthProxy as usize, Field::Socket as usize),
            Shape::Registrant => (RegField::Proxy as usize, RegField::Socket as usize),
        }
    }

    /// (realm, user, password, ha1) fields; None where the table has none.
    pub fn cred_fields(self) -> (Option<usize>, usize, usize, Option<usize>) {
        match self {
            Shape::Uacreg => (
                Some(Field::Realm as usize),
                Field::AuthUsername as usize,
                Field::AuthPassword as usize,
                Some(Field::AuthHa1 as usize),
            ),
            Shape::Registrant => (
                None,
                RegField::Username as usize,
                RegField::Password as usize,
                None,
            ),
        }
    }
}

impl Field {
    pub const ALL: [Field; TEXT_FIELDS] = [
        Field::LUuid,
        Field::LUsername,
        Field::LDomain,
        Field::RUsername,
        Field::RDomain,
        Field::Realm,
        Field::AuthUsername,
        Field::AuthPassword,
        Field::AuthHa1,
        Field::AuthProxy,
        Field::ContactAddr,
        Field::Socket,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Field::LUuid => "l_uuid",
            Field::LUsername => "l_username",
            Field::LDomain => "l_domain",
            Field::RUsername => "r_username",
            Field::RDomain => "r_domain",
            Field::Realm => "realm",
            Field::AuthUsername => "auth_username",
            Field::AuthPassword => "auth_password",
            Field::AuthHa1 => "auth_ha1",
            Field::AuthProxy => "auth_proxy",
            Field::ContactAddr => "contact_addr",
            Field::Socket => "socket",
        }
    }

    /// The longest value we accept: what the REGISTER can carry, not the
    /// schema's varchar sizes (stock registers longer values).
    pub fn max_len(self) -> usize {
        match self {
            Field::AuthPassword => MAX_PASSWORD_LEN,
            _ => MAX_VALUE_LEN,
        }
    }
}

/// The longest value of a column that goes into the REGISTER (the Contact,
/// To/From and Request-URI, the Authorization header, the outbound proxy)
/// or names it: Kamailio's MAX_URI_SIZE, the longest URI the core and the
/// stock module hold in their buffers.
pub const MAX_VALUE_LEN: usize = 1024;

/// The longest auth_password: it is only hashed, never sent, and long API
/// tokens are real carrier passwords.
pub const MAX_PASSWORD_LEN: usize = 16 * 1024;

/// The 15 columns of the stock query, in its order.
pub const COLUMNS: [&str; 15] = [
    "l_uuid",
    "l_username",
    "l_domain",
    "r_username",
    "r_domain",
    "realm",
    "auth_username",
    "auth_password",
    "auth_ha1",
    "auth_proxy",
    "expires",
    "flags",
    "reg_delay",
    "contact_addr",
    "socket",
];

/// The integer columns of [`COLUMNS`] (the others are text).
pub const INT_COLUMNS: [&str; 3] = ["expires", "flags", "reg_delay"];

/// A value as the DB layer hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Text(Vec<u8>),
    Int(i64),
}

/// Why a row (or an RPC `reg_add`) is refused. The message names the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// How the table names a record in log lines (`uacreg record l_uuid`).
    pub record: &'static str,
    /// The row's l_uuid (or the table's identity of the row) as far as it
    /// could be read ("" when that is the problem).
    pub l_uuid: String,
    pub reason: String,
}

/// How the uacreg table names a record in log lines.
pub const UACREG_RECORD: &str = "uacreg record l_uuid";

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} '{}' skipped: {}",
            self.record, self.l_uuid, self.reason
        )
    }
}

/// A row taken with a value changed to one we support (logged as a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWarning {
    pub record: &'static str,
    pub l_uuid: String,
    pub reason: String,
}

impl fmt::Display for RowWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} '{}': {}", self.record, self.l_uuid, self.reason)
    }
}

/// The checked content of one account (what the DB or `reg_add` gives).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountData {
    pub text: [Vec<u8>; TEXT_FIELDS],
    pub expires: u32,
    /// Only the DISABLED bit of the row is kept: the others are run-time states.
    pub flags: u32,
    pub reg_delay: u32,
    /// The cluster of the sharing tag (RegField::ShTag), 0 without one.
    pub cluster_id: i32,
}

/// Longest expires we take from a row or a registrar (about 68 years is what
/// fits; a year is already absurd for a registration).
pub const MAX_EXPIRES: u32 = 365 * 24 * 3600;

fn is_token_char(c: u8) -> bool {
    // RFC 3261 user part characters without escapes: unreserved / user-unreserved.
    c.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/%".contains(&c)
}

fn is_host_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.:[]_".contains(&c)
}

/// host[:port] with a port in range.
fn check_hostport(v: &[u8]) -> Result<(), String> {
    if !v.iter().all(|&c| is_host_char(c)) {
        return Err("not a host[:port]".into());
    }
    let (host, port) = if v.first() == Some(&b'[') {
        let end = v
            .iter()
            .position(|&c| c == b']')
            .ok_or("unclosed IPv6 reference")?;
        (&v[..=end], v[end + 1..].strip_prefix(b":"))
    } else {
        match v.iter().position(|&c| c == b':') {
            Some(i) => (&v[..i], Some(&v[i + 1..])),
            None => (v, None),
        }
    };
    if host.is_empty() || host.contains(&b'[') && host.first() != Some(&b'[') {
        return Err("empty or malformed host".into());
    }
    if let Some(p) = port {
        let ok = !p.is_empty()
            && p.len() <= 5
            && p.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(p)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                .is_some_and(|n| (1..=65535).contains(&n));
        if !ok {
            return Err("bad port".into());
        }
    }
    Ok(())
}

/// A SIP URI we can hand to tm as an outbound proxy: sip:/sips:, no spaces or
/// control characters, a host.
pub fn check_sip_uri(v: &[u8]) -> Result<(), String> {
    let rest = v
        .strip_prefix(b"sip:")
        .or_else(|| v.strip_prefix(b"sips:"))
        .ok_or("not a sip: or sips: URI")?;
    if rest.is_empty()
        || rest
            .iter()
            .any(|&c| c <= b' ' || c == 0x7f || c == b'<' || c == b'>' || c == b'"')
    {
        return Err("malformed URI".into());
    }
    let hostpart = match rest.iter().rposition(|&c| c == b'@') {
        Some(i) => &rest[i + 1..],
        None => rest,
    };
    let hp_end = hostpart
        .iter()
        .position(|&c| c == b';' || c == b'?')
        .unwrap_or(hostpart.len());
    check_hostport(&hostpart[..hp_end])
}

/// proto:host:port as Kamailio's `socket` settings are written.
fn check_socket(v: &[u8]) -> Result<(), String> {
    let s = std::str::from_utf8(v).map_err(|_| "not text")?;
    let (proto, hp) = s.split_once(':').ok_or("not proto:host:port")?;
    if !matches!(
        proto.to_ascii_lowercase().as_str(),
        "udp" | "tcp" | "tls" | "sctp" | "ws" | "wss"
    ) {
        return Err(format!("unknown protocol '{proto}'"));
    }
    if !hp.contains(':') || hp.ends_with(']') {
        return Err("no port".into());
    }
    check_hostport(hp.as_bytes())
}

impl AccountData {
    pub fn get(&self, f: impl FieldId) -> &[u8] {
        &self.text[f.index()]
    }

    /// The identity of the account in a table of `shape`.
    pub fn key(&self, shape: Shape) -> Vec<&[u8]> {
        shape
            .key_fields()
            .iter()
            .map(|&i| &self.text[i][..])
            .collect()
    }

    /// What log lines call the account.
    pub fn name(&self, shape: Shape) -> String {
        shape.name_of(|i| &self.text[i])
    }

    pub fn l_uuid_lossy(&self) -> String {
        String::from_utf8_lossy(self.get(Field::LUuid)).into_owned()
    }

    /// Checks a row: `cells` in [`COLUMNS`] order. `default_contact` replaces
    /// an empty contact_addr (the `reg_contact_addr` parameter). An expires
    /// above [`MAX_EXPIRES`] is clamped to it, with a warning.
    pub fn from_row(
        cells: &[Cell],
        default_contact: &[u8],
    ) -> Result<(AccountData, Option<RowWarning>), RowError> {
        let uuid_text = match cells.first() {
            Some(Cell::Text(t)) => {
                String::from_utf8_lossy(&t[..t.len().min(MAX_VALUE_LEN)]).into_owned()
            }
            Some(Cell::Int(i)) => i.to_string(),
            _ => String::new(),
        };
        let fail = |reason: String| RowError {
            record: UACREG_RECORD,
            l_uuid: uuid_text.clone(),
            reason,
        };
        if cells.len() != COLUMNS.len() {
            return Err(fail(format!(
                "{} columns, expected {}",
                cells.len(),
                COLUMNS.len()
            )));
        }
        let text_of = |i: usize| -> Result<Option<Vec<u8>>, String> {
            match &cells[i] {
                Cell::Null => Ok(None),
                Cell::Text(t) => Ok(Some(t.clone())),
                // Some drivers type a numeric-looking text column as a number.
                Cell::Int(n) => Ok(Some(n.to_string().into_bytes())),
            }
        };
        let int_of = |i: usize| -> Result<i64, String> {
            match &cells[i] {
                Cell::Null => Ok(0),
                Cell::Int(n) => Ok(*n),
                Cell::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .ok_or_else(|| format!("column {} is not a number", COLUMNS[i])),
            }
        };
        let mut d = AccountData::default();
        let text_cols = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14];
        for (fi, &ci) in text_cols.iter().enumerate() {
            let f = Field::ALL[fi];
            let v = text_of(ci).map_err(&fail)?.unwrap_or_default();
            if v.len() > f.max_len() {
                return Err(fail(format!(
                    "column {} longer than {} bytes",
                    f.column(),
                    f.max_len()
                )));
            }
            if v.iter().any(|&c| c < b' ' || c == 0x7f) {
                return Err(fail(format!("control character in column {}", f.column())));
            }
            d.text[fi] = v;
        }
        d.check(default_contact).map_err(fail)?;
        let expires = int_of(10).map_err(&fail)?;
        // negative: stock would send "Expires: -5", which no registrar takes
        if expires < 0 {
            return Err(fail(format!(
                "expires {expires} out of range 0..{MAX_EXPIRES}"
            )));
        }
        let warning = (expires > MAX_EXPIRES as i64).then(|| RowWarning {
            record: UACREG_RECORD,
            l_uuid: uuid_text.clone(),
            reason: format!(
                "expires {expires} above {MAX_EXPIRES}, registering with {MAX_EXPIRES}"
            ),
        });
        d.expires = expires.min(MAX_EXPIRES as i64) as u32;
        let flags = int_of(11).map_err(&fail)?;
        if !(0..=u32::MAX as i64).contains(&flags) {
            return Err(fail(format!("flags {flags} out of range")));
        }
        d.flags = flags as u32 & FL_DISABLED;
        let delay = int_of(12).map_err(&fail)?;
        if !(0..=MAX_EXPIRES as i64).contains(&delay) {
            return Err(fail(format!("reg_delay {delay} out of range")));
        }
        d.reg_delay = delay as u32;
        Ok((d, warning))
    }

    /// The checks every account passes (from the DB or from `uac.reg_add`).
    pub fn check(&mut self, default_contact: &[u8]) -> Result<(), String> {
        for f in Field::ALL {
            let v = self.get(f);
            if v.len() > f.max_len() {
                return Err(format!(
                    "column {} longer than {} bytes",
                    f.column(),
                    f.max_len()
                ));
            }
            if v.iter().any(|&c| c < b' ' || c == 0x7f) {
                return Err(format!("control character in column {}", f.column()));
            }
        }
        for f in [
            Field::LUuid,
            Field::LUsername,
            Field::LDomain,
            Field::RUsername,
            Field::RDomain,
            Field::AuthUsername,
            Field::AuthProxy,
        ] {
            if self.get(f).is_empty() {
                return Err(format!("empty value not allowed for column {}", f.column()));
            }
        }
        for f in [Field::LUuid, Field::LUsername, Field::RUsername] {
            if !self.get(f).iter().all(|&c| is_token_char(c)) {
                return Err(format!(
                    "column {} is not a valid URI user part",
                    f.column()
                ));
            }
        }
        for f in [Field::LDomain, Field::RDomain] {
            check_hostport(self.get(f)).map_err(|e| format!("column {}: {e}", f.column()))?;
        }
        check_sip_uri(self.get(Field::AuthProxy)).map_err(|e| format!("column auth_proxy: {e}"))?;
        if self.get(Field::AuthPassword).is_empty() && self.get(Field::AuthHa1).is_empty() {
            return Err("no password value provided (auth_password and auth_ha1 empty)".into());
        }
        let ha1 = &mut self.text[Field::AuthHa1 as usize];
        if !ha1.is_empty() {
            if ha1.len() != 32 || !ha1.iter().all(u8::is_ascii_hexdigit) {
                return Err("column auth_ha1 is not 32 hexadecimal digits".into());
            }
            ha1.make_ascii_lowercase();
        }
        if self.get(Field::ContactAddr).is_empty() {
            self.text[Field::ContactAddr as usize] = default_contact.to_vec();
        }
        check_hostport(self.get(Field::ContactAddr))
            .map_err(|e| format!("column contact_addr: {e}"))?;
        if !self.get(Field::Socket).is_empty() {
            check_socket(self.get(Field::Socket)).map_err(|e| format!("column socket: {e}"))?;
        }
        Ok(())
    }
}

/// What goes on the wire for one REGISTER (stock layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// `sip:` r_domain: the Request-URI and the digest uri.
    pub ruri: Vec<u8>,
    /// `sip:` r_username `@` r_domain: To (and From).
    pub aor: Vec<u8>,
    /// From (the AOR but for a third-party registration).
    pub from: Vec<u8>,
    /// `Contact: <sip:l_uuid@contact_addr>` and `Expires: N` lines (CRLF each).
    pub headers: Vec<u8>,
}

/// Builds the REGISTER of an account for `expires` (0: unregister).
pub fn register_request(
    l_uuid: &[u8],
    contact_addr: &[u8],
    r_username: &[u8],
    r_domain: &[u8],
    expires: u32,
) -> RegisterRequest {
    let ruri = [b"sip:".as_slice(), r_domain].concat();
    let aor = [b"sip:".as_slice(), r_username, b"@", r_domain].concat();
    let mut headers = Vec::with_capacity(64 + l_uuid.len() + contact_addr.len());
    headers.extend_from_slice(b"Contact: <sip:");
    headers.extend_from_slice(l_uuid);
    headers.push(b'@');
    headers.extend_from_slice(contact_addr);
    headers.extend_from_slice(b">\r\nExpires: ");
    headers.extend_from_slice(expires.to_string().as_bytes());
    headers.extend_from_slice(b"\r\n");
    RegisterRequest {
        ruri,
        from: aor.clone(),
        aor,
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn row(uuid: &str) -> Vec<Cell> {
        let t = |s: &str| Cell::Text(s.as_bytes().to_vec());
        vec![
            t(uuid),
            t("alice"),
            t("local.example"),
            t("ralice"),
            t("reg.example:5070"),
            t(""),
            t("auser"),
            t("secret"),
            t(""),
            t("sip:127.0.0.1:5070"),
            Cell::Int(3600),
            Cell::Int(0),
            Cell::Int(0),
            t(""),
            t(""),
        ]
    }

    #[test]
    fn good_row() {
        let (d, w) = AccountData::from_row(&row("u1"), b"127.0.0.1:5060").unwrap();
        assert_eq!(w, None);
        assert_eq!(d.get(Field::LUuid), b"u1");
        assert_eq!(d.get(Field::ContactAddr), b"127.0.0.1:5060");
        assert_eq!(d.expires, 3600);
    }

    #[test]
    fn bad_rows_name_the_uuid() {
        let cases: Vec<(usize, Cell, &str)> = vec![
            (1, Cell::Null, "l_username"),
            (1, Cell::Text(Vec::new()), "l_username"),
            (3, Cell::Text(vec![b'a'; MAX_VALUE_LEN + 1]), "r_username"),
            (
                7,
                Cell::Text(vec![b'a'; MAX_PASSWORD_LEN + 1]),
                "auth_password",
            ),
            (4, Cell::Text(b"bad host".to_vec()), "r_domain"),
            (4, Cell::Text(b"h:99999".to_vec()), "r_domain"),
            (9, Cell::Text(b"http://x".to_vec()), "auth_proxy"),
            (9, Cell::Text(Vec::new()), "auth_proxy"),
            (8, Cell::Text(b"abc".to_vec()), "auth_ha1"),
            (10, Cell::Int(-5), "expires"),
            (10, Cell::Text(b"x".to_vec()), "expires"),
            (14, Cell::Text(b"udp:1.2.3.4".to_vec()), "socket"),
            (14, Cell::Text(b"foo:1.2.3.4:5".to_vec()), "socket"),
            (0, Cell::Text(b"a b".to_vec()), "l_uuid"),
            (2, Cell::Text(b"a\r\nX: y".to_vec()), "l_domain"),
        ];
        for (col, v, name) in cases {
            let mut r = row("u9");
            r[col] = v;
            let e = AccountData::from_row(&r, b"127.0.0.1").unwrap_err();
            assert!(
                e.reason.contains(name) || e.reason.contains("control"),
                "{e}"
            );
            if col != 0 {
                assert_eq!(e.l_uuid, "u9");
            }
        }
        let mut r = row("u9");
        r[7] = Cell::Text(Vec::new());
        assert!(AccountData::from_row(&r, b"h")
            .unwrap_err()
            .reason
            .contains("password"));
        assert!(AccountData::from_row(&r[..3], b"h").is_err());
    }

    #[test]
    fn ha1_lowercased_and_flags_masked() {
        let mut r = row("u2");
        r[8] = Cell::Text(b"ABCDEF0123456789abcdef0123456789".to_vec());
        r[11] = Cell::Int(0xff);
        let d = AccountData::from_row(&r, b"h").unwrap().0;
        assert_eq!(d.get(Field::AuthHa1), b"abcdef0123456789abcdef0123456789");
        assert_eq!(d.flags, FL_DISABLED);
    }

    /// What stock registers: a 600-byte password, columns over the schema's
    /// varchar sizes, expires 2147483647 (clamped, with a warning naming the row).
    #[test]
    fn long_values_and_huge_expires_load() {
        let mut r = row("u3");
        let token = "A".repeat(600);
        r[7] = Cell::Text(token.clone().into_bytes());
        r[0] = Cell::Text(vec![b'u'; 200]);
        r[3] = Cell::Text(vec![b'r'; MAX_VALUE_LEN]);
        r[9] = Cell::Text(format!("sip:127.0.0.1:5070;x={}", "y".repeat(300)).into_bytes());
        r[10] = Cell::Int(2147483647);
        let (d, w) = AccountData::from_row(&r, b"h").unwrap();
        assert_eq!(d.get(Field::AuthPassword), token.as_bytes());
        assert_eq!(d.get(Field::LUuid).len(), 200);
        assert_eq!(d.expires, MAX_EXPIRES);
        let w = w.unwrap().to_string();
        assert!(
            w.starts_with(&format!("uacreg record l_uuid '{}'", "u".repeat(200))),
            "{w}"
        );
        assert!(w.contains("expires 2147483647 above 31536000"), "{w}");
        // the largest value we keep is taken as it is
        r[10] = Cell::Int(MAX_EXPIRES as i64);
        let (d, w) = AccountData::from_row(&r, b"h").unwrap();
        assert_eq!((d.expires, w), (MAX_EXPIRES, None));
    }

    #[test]
    fn request_text() {
        let r = register_request(b"u1", b"10.0.0.1:5060", b"bob", b"reg.example", 300);
        assert_eq!(r.ruri, b"sip:reg.example");
        assert_eq!(r.aor, b"sip:bob@reg.example");
        assert_eq!(
            r.headers,
            b"Contact: <sip:u1@10.0.0.1:5060>\r\nExpires: 300\r\n".to_vec()
        );
    }
}
