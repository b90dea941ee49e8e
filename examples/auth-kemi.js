// KSR.auth.* from JavaScript: pv_auth_check with the password in the script
// (a real one would look it up), auth_challenge, has_credentials and
// consume_credentials. X-Auth-Result carries the codes (a test aid).
function ksr_request_route() {
	if (KSR.is_ACK() || KSR.is_CANCEL()) {
		return;
	}
	var has = KSR.auth.has_credentials("sip.test");
	var rc = KSR.auth.pv_auth_check("sip.test", "alicepw", 0, 1);
	if (rc < 0) {
		KSR.hdr.append_to_reply("X-Auth-Result: " + rc + " " + has + "\r\n");
		KSR.auth.auth_challenge("sip.test", 1);
		return;
	}
	var cc = KSR.auth.consume_credentials();
	KSR.hdr.append_to_reply("X-Auth-Result: " + rc + " " + has + " " + cc + "\r\n");
	KSR.sl.sl_send_reply(200, "OK");
}
