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
#include "core/action.h"
#include "core/fmsg.h"
#include "core/kemi.h"
#include "core/mem/shm_mem.h"
#include "core/locking.h"
#include "core/trim.h"
#include "core/ut.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "core/parser/parse_cseq.h"
#include "modules/tm/dlg.h"
#include "core/parser/msg_parser.h"
#include "modules/tm/tm_load.h"
#include "modules/rr/api.h"
#include "modules/dialog/dlg_load.h"
#include "modules/sl/sl.h"
#include "core/data_lump_rpl.h"
#include "core/globals.h"
#include "core/pt.h"
#include "core/parser/parse_content.h"
#include "core/lvalue.h"

#include "uac_glue.h"

int uacg_log_enabled(int level)
{
	return is_printable(level);
}

/* Like LM_*(), but the location is the Rust source file and line, so the
 * line reads "ERROR: uac [identity.rs:123]: ..." as a C module's would. */
void uacg_log(int level, const char *where, int wlen, const char *text, int len)
{
	LOG_FN(DEFAULT_FACILITY, level, "", MOD_NAME " [%.*s]: %.*s\n", wlen, where, len,
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

void *uacg_shm_malloc(size_t size)
{
	return shm_malloc(size);
}

void uacg_shm_free(void *p)
{
	shm_free(p);
}

void *uacg_lock_new(void)
{
	gen_lock_t *l = lock_alloc();
	if(l == NULL)
		return NULL;
	if(lock_init(l) == NULL) {
		lock_dealloc(l);
		return NULL;
	}
	return l;
}

void uacg_lock_get(void *lock)
{
	lock_get((gen_lock_t *)lock);
}

void uacg_lock_release(void *lock)
{
	lock_release((gen_lock_t *)lock);
}

void uacg_lock_free(void *lock)
{
	lock_destroy((gen_lock_t *)lock);
	lock_dealloc(lock);
}

int uacg_event_route_lookup(const char *name)
{
	int rt = route_lookup(&event_rt, (char *)name);
	if(rt < 0 || event_rt.rlist[rt] == NULL)
		return -1;
	return rt;
}

void uacg_run_event_route(int rt, struct sip_msg *msg)
{
	struct run_act_ctx ctx;
	sip_msg_t *fmsg = msg ? msg : faked_msg_get_next();
	int backup_rt = get_route_type();
	set_route_type(REQUEST_ROUTE);
	init_run_actions_ctx(&ctx);
	run_top_route(event_rt.rlist[rt], fmsg, 0);
	set_route_type(backup_rt);
}

int uacg_run_kemi_event(str *cb, const char *name, struct sip_msg *msg)
{
	sr_kemi_eng_t *keng = sr_kemi_eng_get();
	str evname;
	sip_msg_t *fmsg = msg ? msg : faked_msg_get_next();
	int backup_rt = get_route_type();
	int ret;
	if(keng == NULL)
		return -1;
	evname.s = (char *)name;
	evname.len = strlen(name);
	set_route_type(REQUEST_ROUTE);
	ret = sr_kemi_route(keng, fmsg, EVENT_ROUTE, cb, &evname);
	set_route_type(backup_rt);
	return ret;
}

int uacg_reply_dialog(struct sip_msg *rpl, struct dlg *d)
{
	if(rpl == NULL || d == NULL)
		return -1;
	if(parse_headers(rpl, HDR_EOH_F, 0) < 0 || rpl->callid == NULL
			|| rpl->cseq == NULL || parse_to_header(rpl) < 0
			|| parse_from_header(rpl) < 0)
		return -1;
	memset(d, 0, sizeof(*d));
	if(str2int(&(get_cseq(rpl)->number), &d->loc_seq.value) < 0)
		return -1;
	d->loc_seq.is_set = 1;
	d->id.call_id = rpl->callid->body;
	trim(&d->id.call_id);
	if(get_from(rpl)->tag_value.len)
		d->id.loc_tag = get_from(rpl)->tag_value;
	d->loc_uri = get_from(rpl)->uri;
	d->rem_uri = get_to(rpl)->uri;
	d->state = DLG_CONFIRMED;
	return 0;
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

int uacg_parse_route(struct sip_msg *msg)
{
	if(msg->route == NULL && parse_headers(msg, HDR_ROUTE_F, 0) == -1)
		return -1;
	return 0;
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

/* ---- auth module ---- */
static sl_api_t uacg_slb;

int uacg_sl_load(void)
{
	return sl_load_api(&uacg_slb);
}

int uacg_sl_reply(struct sip_msg *msg, int code, const char *reason, int rlen,
		int stateless)
{
	str r;
	r.s = (char *)reason;
	r.len = rlen;
	return stateless ? uacg_slb.sreply(msg, code, &r)
					 : uacg_slb.freply(msg, code, &r);
}

int uacg_msg_body(struct sip_msg *msg, str *out)
{
	char *b = get_body(msg);
	out->s = NULL;
	out->len = 0;
	if(b == NULL)
		return 0;
	out->s = b;
	out->len = (int)(msg->buf + msg->len - b);
	if(msg->content_length
			&& get_content_length(msg) < out->len)
		out->len = get_content_length(msg);
	if(out->len < 0)
		out->len = 0;
	return 0;
}

long uacg_up_since(void)
{
	return (long)up_since;
}

int uacg_process_no(void)
{
	return process_no;
}

int uacg_req_method(struct sip_msg *msg)
{
	if(msg->first_line.type != SIP_REQUEST)
		return 0;
	return msg->first_line.u.request.method_value;
}

int uacg_callid(struct sip_msg *msg, str *out)
{
	if(parse_headers(msg, HDR_CALLID_F, 0) < 0 || msg->callid == NULL)
		return -1;
	*out = msg->callid->body;
	return 0;
}

int uacg_from_tag(struct sip_msg *msg, str *out)
{
	if(parse_from_header(msg) < 0)
		return -1;
	*out = get_from(msg)->tag_value;
	return 0;
}

int uacg_src_ip(struct sip_msg *msg, str *out)
{
	out->s = (char *)msg->rcv.src_ip.u.addr;
	out->len = msg->rcv.src_ip.len;
	return 0;
}

int uacg_add_rpl_hdr(struct sip_msg *msg, const char *s, int len)
{
	return add_lump_rpl(msg, (char *)s, len, LUMP_RPL_HDR) == 0 ? -1 : 0;
}

int uacg_pv_set_str(struct _pv_spec *pv, struct sip_msg *msg, str *val)
{
	pv_value_t v;
	memset(&v, 0, sizeof(v));
	v.rs = *val;
	v.flags = PV_VAL_STR;
	if(pv->setf == NULL)
		return -1;
	return pv->setf(msg, &pv->pvp, (int)EQ_T, &v) < 0 ? -1 : 0;
}

int uacg_pv_writable(struct _pv_spec *pv)
{
	return pv != NULL && pv->setf != NULL;
}

/* ---- remote registrations ---- */
#include "core/pt.h"
#include "core/cfg/cfg_struct.h"
#include "lib/srdb1/db.h"

void uacg_reg_procs(int n)
{
	register_procs(n);
	cfg_register_child(n);
}

int uacg_fork_proc(const char *desc, void (*run)(void))
{
	int pid = fork_process(PROC_TIMER, (char *)desc, 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			exit(-1);
		run();
		exit(0);
	}
	return pid;
}

void uacg_cfg_update(void)
{
	cfg_update();
}

int uacg_db_cap(struct db_func *dbf, unsigned int cap)
{
	return DB_CAPABILITY(*dbf, cap);
}

long uacg_cseq_number(struct sip_msg *msg)
{
	unsigned int n = 0;
	if(parse_headers(msg, HDR_CSEQ_F, 0) < 0 || msg->cseq == NULL)
		return -1;
	if(str2int(&(get_cseq(msg)->number), &n) < 0)
		return -1;
	return (long)n;
}

#include "core/globals.h"

unsigned long uacg_shm_available(void)
{
	return shm_available();
}

unsigned long uacg_shm_size(void)
{
	return shm_mem_size;
}
