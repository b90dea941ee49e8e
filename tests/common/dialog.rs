//! A whole call between two peers through kamailio: INVITE, 200, ACK, then
//! in-dialog requests from either side, keeping what each side saw.

use super::{angle_uri, rand_tag, request, Msg, Peer};

pub struct Call<'a> {
    pub k: u16,
    pub a: &'a Peer,
    pub b: &'a Peer,
    pub call_id: String,
    /// From and To as the caller (A) uses them.
    pub a_from: String,
    pub a_to: String,
    /// From and To as the callee (B) uses them in its requests.
    pub b_from: String,
    pub b_to: String,
    pub route: Vec<String>,
    pub a_cseq: u32,
    pub b_cseq: u32,
    /// The INVITE as B received it and the 200 as A received it.
    pub invite_at_b: Msg,
    pub ok_at_a: Msg,
}

impl<'a> Call<'a> {
    /// A calls B through kamailio; `extra` headers go into the INVITE.
    pub fn invite(
        k: u16,
        a: &'a Peer,
        b: &'a Peer,
        from: &str,
        to: &str,
        extra: &[String],
    ) -> Call<'a> {
        let call_id = format!("call-{}", rand_tag());
        let a_from = format!("{from};tag=a{}", rand_tag());
        let ruri = format!("sip:bob@127.0.0.1:{}", b.port);
        a.send(
            k,
            &request("INVITE", &ruri, a.port, &a_from, to, &call_id, 1, extra),
        );
        let invite_at_b = b.recv();
        assert_eq!(invite_at_b.method(), "INVITE", "B got {}", invite_at_b.raw);
        let b_tag = format!("b{}", rand_tag());
        b.send(k, &b.reply(&invite_at_b, 200, &b_tag, true));
        let ok_at_a = a.recv();
        assert_eq!(ok_at_a.status(), Some(200), "A got {}", ok_at_a.raw);
        let route: Vec<String> = ok_at_a
            .all("Record-Route")
            .iter()
            .map(|s| s.to_string())
            .collect();
        let b_from = format!("{};tag={b_tag}", invite_at_b.hdr("To"));
        let b_to = invite_at_b.hdr("From").to_string();
        let a_to = ok_at_a.hdr("To").to_string();
        Call {
            k,
            a,
            b,
            call_id,
            a_from,
            a_to,
            b_from,
            b_to,
            route,
            a_cseq: 1,
            b_cseq: 0,
            invite_at_b,
            ok_at_a,
        }
    }

    fn route_headers(&self, reverse: bool) -> Vec<String> {
        let mut r: Vec<String> = self.route.iter().map(|v| format!("Route: {v}")).collect();
        if reverse {
            r.reverse();
        }
        r
    }

    /// A sends ACK for the 200; returns it as B received it.
    pub fn ack(&mut self) -> Msg {
        let ruri = angle_uri(self.ok_at_a.hdr("Contact")).to_string();
        let routes = self.route_headers(false);
        let ack = request(
            "ACK",
            &ruri,
            self.a.port,
            &self.a_from,
            &self.a_to,
            &self.call_id,
            self.a_cseq,
            &routes,
        );
        self.a.send(self.k, &ack);
        let m = self.b.recv();
        assert_eq!(m.method(), "ACK", "B got {}", m.raw);
        m
    }

    /// A's next request in the dialog (CSeq counted up), not sent.
    pub fn request_from_a(&mut self, method: &str) -> String {
        self.a_cseq += 1;
        let ruri = angle_uri(self.ok_at_a.hdr("Contact")).to_string();
        let routes = self.route_headers(false);
        request(
            method,
            &ruri,
            self.a.port,
            &self.a_from,
            &self.a_to,
            &self.call_id,
            self.a_cseq,
            &routes,
        )
    }

    /// A sends `method` in the dialog: (request at B, 200 at A).
    pub fn send_from_a(&mut self, method: &str) -> (Msg, Msg) {
        let req = self.request_from_a(method);
        self.a.send(self.k, &req);
        let at_b = self.b.recv();
        assert_eq!(at_b.method(), method, "B got {}", at_b.raw);
        self.b.send(self.k, &self.b.reply(&at_b, 200, "", true));
        let at_a = self.a.recv();
        assert_eq!(at_a.status(), Some(200), "A got {}", at_a.raw);
        if method == "INVITE" {
            self.ack();
        }
        (at_b, at_a)
    }

    /// B sends `method` in the dialog: (request at A, 200 at B).
    pub fn send_from_b(&mut self, method: &str) -> (Msg, Msg) {
        self.b_cseq += 1;
        let ruri = angle_uri(self.invite_at_b.hdr("Contact")).to_string();
        let routes = self.route_headers(true);
        let req = request(
            method,
            &ruri,
            self.b.port,
            &self.b_from,
            &self.b_to,
            &self.call_id,
            self.b_cseq,
            &routes,
        );
        self.b.send(self.k, &req);
        let at_a = self.a.recv();
        assert_eq!(at_a.method(), method, "A got {}", at_a.raw);
        self.a.send(self.k, &self.a.reply(&at_a, 200, "", false));
        let at_b = self.b.recv();
        assert_eq!(at_b.status(), Some(200), "B got {}", at_b.raw);
        (at_a, at_b)
    }
}
