//! OpenSIPS uac_registrant's `registrant` table (3.6 schema, version 3): its
//! columns (names set by the `*_column` parameters) as an account of the
//! registrant shape, the state written back on reg_enable/reg_disable, and
//! the records reg_list prints (stock's fields, in stock's order).

use super::{StateUpdate, Table};
use crate::ports::db::Cell;
use crate::ports::rpc::Record;
use crate::registration::account::{
    check_sip_uri, AccountData, RegField, RowError, RowWarning, Shape, FL_DISABLED, MAX_EXPIRES,
    MAX_PASSWORD_LEN, MAX_VALUE_LEN,
};
use crate::registration::registry::Entry;
use allocator_api2::alloc::Allocator;

/// The registrant schema version of OpenSIPS 3.6.
pub const TABLE_VERSION: u32 = 3;

/// How log lines name a row.
const RECORD: &str = "registrant record";

/// The columns in stock's order, by their default names.
pub const COLUMNS: [&str; 12] = [
    "registrar",
    "proxy",
    "aor",
    "third_party_registrant",
    "username",
    "password",
    "binding_URI",
    "binding_params",
    "expiry",
    "forced_socket",
    "cluster_shtag",
    "state",
];

/// Where each text column goes (None: expiry and state, the integers).
const TEXT_OF: [Option<RegField>; 12] = [
    Some(RegField::Registrar),
    Some(RegField::Proxy),
    Some(RegField::Aor),
    Some(RegField::ThirdParty),
    Some(RegField::Username),
    Some(RegField::Password),
    Some(RegField::Binding),
    Some(RegField::BindingParams),
    None,
    Some(RegField::Socket),
    Some(RegField::ShTag),
    None,
];
const EXPIRY: usize = 8;
const STATE: usize = 11;

/// The `registrant` table as one uac_registrant module reads it.
#[derive(Debug, Clone)]
pub struct RegistrantTable {
    /// The column names (modparams), in [`COLUMNS`] order.
    cols: [&'static str; 12],
    /// expiry and state.
    ints: [&'static str; 2],
    /// aor, binding_URI, registrar: a row's identity.
    keys: [&'static str; 3],
    /// expiry must be above it (stock skips a row otherwise).
    pub timer_interval: u32,
    /// Whether a forced socket is one the host listens on.
    pub socket_ok: fn(&[u8]) -> bool,
    /// A time as stock prints it (ctime(3) without the newline).
    pub ctime: fn(i64) -> String,
}

impl RegistrantTable {
    /// The table with the column names `cols` (in [`COLUMNS`] order).
    pub fn new(
        cols: [&'static str; 12],
        timer_interval: u32,
        socket_ok: fn(&[u8]) -> bool,
        ctime: fn(i64) -> String,
    ) -> Self {
        RegistrantTable {
            cols,
            ints: [cols[EXPIRY], cols[STATE]],
            keys: [cols[2], cols[6], cols[0]],
            timer_interval,
            socket_ok,
            ctime,
        }
    }
}

/// The user part of a SIP URI, if any.
fn has_user(uri: &[u8]) -> bool {
    let rest = uri.splitn(2, |&c| c == b':').nth(1).unwrap_or(&[]);
    let end = rest
        .iter()
        .position(|&c| c == b';' || c == b'?')
        .unwrap_or(rest.len());
    rest[..end].contains(&b'@')
}

/// A `;name[=value]...` parameter list as a Contact carries it.
fn check_params(p: &[u8]) -> Result<(), String> {
    if p.first() != Some(&b';') {
        return Err("must start with ';'".into());
    }
    let bad = |c: u8| c <= b' ' || c == 0x7f || b"<>,".contains(&c);
    let mut quoted = false;
    for &c in p {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted && bad(c) {
            return Err("not a parameter list".into());
        }
    }
    if quoted {
        return Err("unclosed quote".into());
    }
    Ok(())
}

impl Table for RegistrantTable {
    fn name(&self) -> &'static str {
        "registrant"
    }

    fn version(&self) -> u32 {
        TABLE_VERSION
    }

    fn columns(&self) -> &[&str] {
        &self.cols
    }

    fn int_columns(&self) -> &[&str] {
        &self.ints
    }

    fn key_columns(&self) -> &[&str] {
        &self.keys
    }

    fn shape(&self) -> Shape {
        Shape::Registrant
    }

    fn account(
        &self,
        cells: &[Cell],
        _default_contact: &[u8],
    ) -> Result<(AccountData, Option<RowWarning>), RowError> {
        account(self, cells)
    }

    fn record<A: Allocator + Clone>(&self, e: &Entry<A>, _now: i64) -> Record {
        let g = |f: RegField| e.get(f);
        let mut r = Record::new()
            .str("AOR", g(RegField::Aor))
            .int("expires", e.expires as i64)
            .str("state", e.state().name().as_bytes())
            .str(
                "enabled",
                if e.flags & FL_DISABLED != 0 {
                    b"no"
                } else {
                    b"yes"
                },
            )
            .str("last_register_sent", (self.ctime)(e.last_sent()).as_bytes())
            .str("registration_t_out", (self.ctime)(e.due).as_bytes())
            .str("registrar", g(RegField::Registrar))
            .str("binding", g(RegField::Binding));
        // the socket: the forced one, else the one the last request left from
        let sent_from = e.route.map_or(&[][..], |r| r.socket());
        let socket = Some(g(RegField::Socket)).filter(|s| !s.is_empty());
        let opt = [
            ("binding_params", g(RegField::BindingParams)),
            ("third_party_registrant", g(RegField::ThirdParty)),
            ("socket", socket.unwrap_or(sent_from)),
            ("proxy", g(RegField::Proxy)),
        ];
        for (name, v) in opt {
            if !v.is_empty() {
                r = r.str(name, v);
            }
        }
        if let Some(d) = e.route.and_then(|r| r.dst) {
            let family: &[u8] = if d.is_ipv4() { b"IPv4" } else { b"IPv6" };
            r = r
                .str("dst_IP", family)
                .str("ip", ip_text(d.ip()).as_bytes());
        }
        if !g(RegField::ShTag).is_empty() {
            r = r
                .str("shtag", g(RegField::ShTag))
                .int("cluster_id", e.cluster_id as i64);
        }
        r
    }

    fn state_update<A: Allocator + Clone>(&self, e: &Entry<A>) -> Option<StateUpdate> {
        let k = |i: usize, f: RegField| (self.cols[i], e.get(f).to_vec());
        Some(StateUpdate {
            keys: vec![
                k(2, RegField::Aor),
                k(6, RegField::Binding),
                k(0, RegField::Registrar),
            ],
            column: self.cols[STATE],
            value: Cell::Int((e.flags & FL_DISABLED != 0) as i64),
        })
    }
}

/// Checks a row as stock does (and beyond: lengths, control characters,
/// URI syntax), naming the row (its AOR and binding) in the error.
fn account(
    t: &RegistrantTable,
    cells: &[Cell],
) -> Result<(AccountData, Option<RowWarning>), RowError> {
    let text = |i: usize| -> Option<Vec<u8>> {
        match cells.get(i)? {
            Cell::Null => None,
            Cell::Text(v) => Some(v.clone()),
            Cell::Int(n) => Some(n.to_string().into_bytes()),
        }
    };
    // a log line stays one line: control characters escaped
    let shown = |v: Option<Vec<u8>>| {
        let v = v.unwrap_or_default();
        String::from_utf8_lossy(&v[..v.len().min(MAX_VALUE_LEN)])
            .chars()
            .flat_map(|c| {
                let esc = c.is_control();
                let e: Vec<char> = if esc {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                e
            })
            .collect::<String>()
    };
    let name = format!("{} -> {}", shown(text(2)), shown(text(6)));
    let fail = |reason: String| RowError {
        record: RECORD,
        l_uuid: name.clone(),
        reason,
    };
    if cells.len() != COLUMNS.len() {
        return Err(fail(format!(
            "{} columns, expected {}",
            cells.len(),
            COLUMNS.len()
        )));
    }
    if text(0).is_none() || text(2).is_none() || text(6).is_none() {
        return Err(fail(format!(
            "columns [{}] or/and [{}] or/and [{}] cannot be null",
            t.cols[0], t.cols[2], t.cols[6]
        )));
    }
    let mut d = AccountData::default();
    for (i, f) in TEXT_OF.iter().enumerate() {
        let Some(f) = f else { continue };
        let v = text(i).unwrap_or_default();
        let max = if *f == RegField::Password {
            MAX_PASSWORD_LEN
        } else {
            MAX_VALUE_LEN
        };
        if v.len() > max {
            return Err(fail(format!(
                "column {} longer than {max} bytes",
                t.cols[i]
            )));
        }
        if v.iter().any(|&c| c < b' ' || c == 0x7f) {
            return Err(fail(format!("control character in column {}", t.cols[i])));
        }
        d.text[*f as usize] = v;
    }
    let uri = |i: usize, f: RegField, optional: bool, userless: bool| -> Result<(), RowError> {
        let v = d.get(f);
        if v.is_empty() && optional {
            return Ok(());
        }
        check_sip_uri(v).map_err(|e| {
            fail(format!(
                "cannot parse {} uri [{}]: {e}",
                t.cols[i],
                String::from_utf8_lossy(v)
            ))
        })?;
        if userless && has_user(v) {
            return Err(fail(format!(
                "{} uri must not have user [{}]",
                t.cols[i],
                String::from_utf8_lossy(v)
            )));
        }
        Ok(())
    };
    uri(0, RegField::Registrar, false, true)?;
    uri(1, RegField::Proxy, true, true)?;
    uri(2, RegField::Aor, false, false)?;
    uri(3, RegField::ThirdParty, true, false)?;
    uri(6, RegField::Binding, false, false)?;
    let params = d.get(RegField::BindingParams);
    if !params.is_empty() {
        check_params(params).map_err(|e| fail(format!("bogus binding params: {e}")))?;
    }
    let int = |i: usize| -> Result<i64, RowError> {
        match &cells[i] {
            Cell::Null => Ok(0),
            Cell::Int(n) => Ok(*n),
            Cell::Text(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| fail(format!("column {} is not a number", t.cols[i]))),
        }
    };
    let expiry = int(EXPIRY)?;
    if expiry <= t.timer_interval as i64 {
        return Err(fail(format!(
            "requested expires [{expiry}] too small (please decrease timer_interval=[{}])",
            t.timer_interval
        )));
    }
    let mut warnings = Vec::new();
    if expiry > MAX_EXPIRES as i64 {
        warnings.push(format!(
            "expires {expiry} above {MAX_EXPIRES}, registering with {MAX_EXPIRES}"
        ));
    }
    d.expires = expiry.min(MAX_EXPIRES as i64) as u32;
    let sock = d.get(RegField::Socket);
    if !sock.is_empty() && !(t.socket_ok)(sock) {
        return Err(fail(format!(
            "invalid forced socket [{}]",
            String::from_utf8_lossy(sock)
        )));
    }
    let tag = d.get(RegField::ShTag).to_vec();
    if !tag.is_empty() {
        let bad = || {
            fail(format!(
                "bad sharing tag <{}>, <name/cluster_id> expected",
                String::from_utf8_lossy(&tag)
            ))
        };
        let slash = tag.iter().position(|&c| c == b'/').ok_or_else(bad)?;
        let name = tag[..slash].trim_ascii();
        let id = std::str::from_utf8(tag[slash + 1..].trim_ascii())
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(bad)?;
        if name.is_empty() {
            return Err(bad());
        }
        d.text[RegField::ShTag as usize] = name.to_vec();
        d.cluster_id = id;
    }
    let state = int(STATE)?;
    if state != 0 {
        d.flags = FL_DISABLED;
    }
    if state != 0 && state != 1 {
        warnings.push(format!(
            "unknown state {state}, taken as disabled (as stock)"
        ));
    }
    let warning = (!warnings.is_empty()).then(|| RowWarning {
        record: RECORD,
        l_uuid: name.clone(),
        reason: warnings.join("; "),
    });
    Ok((d, warning))
}

/// An address as OpenSIPS's ip_addr2a prints it: IPv6 as eight groups of
/// upper-case hex without leading zeros, none left out.
fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => a
            .segments()
            .iter()
            .map(|g| format!("{g:X}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

#[cfg(test)]
mod tests {
    use super::ip_text;

    #[test]
    fn addresses_print_as_opensips_prints_them() {
        let t = |s: &str| ip_text(s.parse().unwrap());
        assert_eq!(t("127.0.0.1"), "127.0.0.1");
        assert_eq!(t("::1"), "0:0:0:0:0:0:0:1");
        assert_eq!(t("2001:db8::a0b:c"), "2001:DB8:0:0:0:0:A0B:C");
    }
}
