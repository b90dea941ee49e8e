// KEMI routing for uac-kemi.cfg: anonymise the caller, restore in the dialog.
function ksr_request_route() {
	if (KSR.siputils.has_totag() > 0) {
		if (KSR.rr.loose_route() > 0) {
			KSR.tm.t_relay();
		} else if (KSR.is_ACK() && KSR.tm.t_check_trans() > 0) {
			KSR.tm.t_relay();
		}
		return;
	}
	KSR.rr.record_route();
	if (KSR.uac.uac_replace_from("\"Anonymous\"", "sip:anonymous@anonymous.invalid") < 0) {
		KSR.err("replace from failed\n");
	}
	KSR.setdsturi("NEXT_HOP");
	KSR.tm.t_relay();
}
