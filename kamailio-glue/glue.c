/*
 * C glue for the Rust uac module: what Rust cannot call directly.
 * Compiled by build.rs with exactly the installed core's -D flags.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/route.h"
#include "core/pvar.h"
#include "core/mem/mem.h"
#include "core/dset.h"
#include "core/parser/msg_parser.h"
#include "modules/tm/tm_load.h"
#include "modules/rr/api.h"
#include "modules/dialog/dlg_load.h"

#include "uac_glue.h"

int uacg_log_enabled(int level)
{
	return is_printable(level);
}

/* Like LM_*(), but the location is the Rust source file and line, so the
 * line reads "ERROR: uac [identity.rs:123]: ..." as a C module's would. */
void uacg_log(int level, const char *where, int wlen, const char *text, int len)
{
	LOG_FN(DEFAULT_FACILITY, level, "", "uac [%.*s]: %.*s\n", wlen, where, len,
			text);
}

void *uacg_pkg_malloc(size_t size)
{
	return pkg_malloc(size);
}

void uacg_pkg_free(void *p)
{
	pkg_free(p);
}

int uacg_route_type(void)
{
	return get_route_type();
}

int uacg_parse_all_headers(struct sip_msg *msg)
{
	return parse_headers(msg, HDR_EOH_F, 0) == -1 ? -1 : 0;
}

int uacg_load_rr_api(struct rr_binds *rrb)
{
	return load_rr_api(rrb);
}

int uacg_load_tm_api(struct tm_binds *tmb)
{
	return load_tm_api(tmb);
}

int uacg_load_dlg_api(struct dlg_binds *dlgb)
{
	return load_dlg_api(dlgb);
}

int uacg_parse_to(struct sip_msg *msg)
{
	if(msg->to == NULL && (parse_headers(msg, HDR_TO_F, 0) != 0 || msg->to == NULL))
		return -1;
	return 0;
}

void uacg_get_ruri(struct sip_msg *msg, str *out)
{
	*out = *GET_RURI(msg);
}

void uacg_ruri_mark_new(void)
{
	ruri_mark_new();
}

int uacg_pv_parse_spec(str *in, struct _pv_spec *sp)
{
	return pv_parse_spec(in, sp) == NULL ? -1 : 0;
}

unsigned int uacg_msg_id(struct sip_msg *msg)
{
	return msg->id;
}

int uacg_msg_pid(struct sip_msg *msg)
{
	return msg->pid;
}
