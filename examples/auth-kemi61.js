// Kamailio 6.x's KSR.auth exports: auth_algorithm, pv_www_authenticate,
// pv_www_authenticate_method, pv_proxy_authenticate, auth_get_www_authenticate,
// www_challenge and proxy_challenge (examples/auth-kemi.cfg loads it with
// KEMI_SCRIPT). X-Alg picks this worker's algorithm; X-Auth-Result and
// X-Get-WWW carry the codes and what auth_get_www_authenticate built (test aids).
function ksr_request_route() {
	if (KSR.is_ACK() || KSR.is_CANCEL()) {
		return;
	}
	var alg = KSR.pv.get("$hdr(X-Alg)");
	if (alg) {
		var ar = KSR.auth.auth_algorithm(alg);
		KSR.hdr.append_to_reply("X-Alg-Result: " + ar + "\r\n");
	}
	var rc;
	if (KSR.is_REGISTER()) {
		rc = KSR.auth.pv_www_authenticate("sip.test", "alicepw", 0);
	} else if (KSR.is_MESSAGE()) {
		rc = KSR.auth.pv_www_authenticate_method("sip.test", "alicepw", 0, "MESSAGE");
	} else {
		rc = KSR.auth.pv_proxy_authenticate("sip.test", "alicepw", 0);
	}
	if (rc < 0) {
		var g = KSR.auth.auth_get_www_authenticate("sip.test", 1, "$var(wwwa)");
		var v = "" + KSR.pv.get("$var(wwwa)");
		var at = v.indexOf("algorithm=");
		var a = at < 0 ? "none" : v.substring(at).trim();
		KSR.hdr.append_to_reply("X-Auth-Result: " + rc + " " + g + "\r\n");
		KSR.hdr.append_to_reply("X-Get-WWW: " + (v.indexOf("WWW-Authenticate: Digest realm=\"sip.test\"") == 0) + " " + a + "\r\n");
		if (KSR.is_INVITE()) {
			KSR.auth.proxy_challenge("sip.test", 1);
		} else {
			KSR.auth.www_challenge("sip.test", 1);
		}
		return;
	}
	KSR.hdr.append_to_reply("X-Auth-Result: " + rc + "\r\n");
	KSR.sl.sl_send_reply(200, "OK");
}
