/*
 * C shims for the Rust OpenSIPS modules: what Rust cannot call directly.
 * Compiled by build.rs (build_opensips.rs) with the OpenSIPS tree's own -D
 * flags, so struct layouts and macros match the core.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sr_module.h"
#include "dprint.h"
#include "mem/mem.h"
#include "mem/shm_mem.h"
#include "locking.h"

#include "osips_glue.h"

int osg_log_enabled(int level)
{
	return is_printable(level);
}

/* Like LM_*(): the line reads "ERROR:uac_auth:osg_log: [auth.rs:12] text".
 * The text is always an argument of "%.*s", never the format. */
void osg_log(int level, const char *where, int wlen, const char *text, int len)
{
	switch (level) {
	case L_ERR:
		LM_ERR("[%.*s] %.*s\n", wlen, where, len, text);
		break;
	case L_WARN:
		LM_WARN("[%.*s] %.*s\n", wlen, where, len, text);
		break;
	case L_NOTICE:
		LM_NOTICE("[%.*s] %.*s\n", wlen, where, len, text);
		break;
	case L_INFO:
		LM_INFO("[%.*s] %.*s\n", wlen, where, len, text);
		break;
	default:
		LM_DBG("[%.*s] %.*s\n", wlen, where, len, text);
		break;
	}
}

void *osg_pkg_malloc(size_t size)
{
	return pkg_malloc(size);
}

void osg_pkg_free(void *p)
{
	pkg_free(p);
}

void *osg_shm_malloc(size_t size)
{
	return shm_malloc(size);
}

unsigned long osg_shm_size(void)
{
	return SHM_GET_SIZE(shm_block);
}

unsigned long osg_shm_free_bytes(void)
{
	return SHM_GET_FREE(shm_block);
}

void *osg_lock_new(void)
{
	gen_lock_t *l = lock_alloc();
	if (l == NULL)
		return NULL;
	if (lock_init(l) == NULL) {
		lock_dealloc(l);
		return NULL;
	}
	return l;
}

void osg_lock_get(void *lock)
{
	lock_get((gen_lock_t *)lock);
}

void osg_lock_release(void *lock)
{
	lock_release((gen_lock_t *)lock);
}

void osg_lock_free(void *lock)
{
	lock_destroy((gen_lock_t *)lock);
	lock_dealloc((gen_lock_t *)lock);
}

void osg_shm_free(void *p)
{
	shm_free(p);
}

/* ---- for the uac module ---- */
#include "route.h"
#include "data_lump.h"
#include "parser/msg_parser.h"
#include "parser/parse_from.h"
#include "parser/parse_to.h"
#include "modules/tm/tm_load.h"
#include "modules/rr/api.h"
#include "modules/dialog/dlg_load.h"

static struct tm_binds osg_tmb;
static struct rr_binds osg_rrb;

int osg_ident(struct sip_msg *msg, int which, struct osg_ident *id)
{
	struct hdr_field *h;
	struct to_body *b;

	if (which == 0) {
		if (parse_from_header(msg) < 0 || !msg->from)
			return -1;
		h = msg->from;
	} else {
		if ((!msg->to && (parse_headers(msg, HDR_TO_F, 0) != 0 || !msg->to))
				|| !msg->to->parsed)
			return -1;
		h = msg->to;
	}
	b = (struct to_body *)h->parsed;
	if (!b || b->error != PARSE_OK)
		return -1;
	id->name_start = h->name.s - msg->buf;
	id->name_end = h->name.s + h->name.len - msg->buf;
	id->body_start = h->body.s - msg->buf;
	id->body_end = h->body.s + h->body.len - msg->buf;
	id->uri_start = b->uri.s - msg->buf;
	id->uri_len = b->uri.len;
	id->display_start = b->display.len ? b->display.s - msg->buf : 0;
	id->display_len = b->display.len;
	id->tag_start = b->tag_value.len ? b->tag_value.s - msg->buf : 0;
	id->tag_len = b->tag_value.len;
	return 0;
}

int osg_shm_req_ident(struct sip_msg *req, int which, const char **body, int *body_len,
		int *uri_start, int *uri_len)
{
	struct hdr_field *h = which == 0 ? req->from : req->to;
	struct to_body local, *b;

	if (!h)
		return -1;
	*body = h->body.s;
	*body_len = h->body.len;
	if (h->parsed) {
		b = (struct to_body *)h->parsed;
		*uri_start = b->uri.s - h->body.s;
		*uri_len = b->uri.len;
		return 0;
	}
	/* parse a local copy, as the stock module does for an unparsed From */
	memset(&local, 0, sizeof local);
	parse_to(h->body.s, h->body.s + h->body.len + 1, &local);
	if (local.error == PARSE_ERROR)
		return -1;
	*uri_start = local.uri.s - h->body.s;
	*uri_len = local.uri.len;
	free_to_params(&local);
	return 0;
}

const char *osg_msg_buf(struct sip_msg *msg, int *len)
{
	*len = msg->len;
	return msg->buf;
}

int osg_msg_is_request(struct sip_msg *msg)
{
	return msg->first_line.type == SIP_REQUEST;
}

unsigned int osg_msg_flags(struct sip_msg *msg)
{
	return msg->msg_flags;
}

void osg_msg_set_flags(struct sip_msg *msg, unsigned int flags)
{
	msg->msg_flags = flags;
}

static char *osg_pkg_copy(const char *data, int dlen)
{
	char *p = pkg_malloc(dlen > 0 ? dlen : 1);
	if (p && dlen > 0)
		memcpy(p, data, dlen);
	return p;
}

int osg_replace(struct sip_msg *msg, int off, int len, const char *data, int dlen)
{
	struct lump *l;
	char *p;

	l = del_lump(msg, off, len, 0);
	if (!l)
		return -1;
	if (dlen == 0)
		return 0;
	p = osg_pkg_copy(data, dlen);
	if (!p)
		return -1;
	if (!insert_new_lump_after(l, p, dlen, 0)) {
		pkg_free(p);
		return -1;
	}
	return 0;
}

int osg_insert(struct sip_msg *msg, int off, const char *data, int dlen)
{
	struct lump *l;
	char *p;

	l = anchor_lump(msg, off, 0);
	if (!l)
		return -1;
	p = osg_pkg_copy(data, dlen);
	if (!p)
		return -1;
	if (!insert_new_lump_after(l, p, dlen, 0)) {
		pkg_free(p);
		return -1;
	}
	return 0;
}

int osg_route_type(void)
{
	return route_type;
}

int osg_script_func_used(const char *name)
{
	return is_script_func_used(name, -1);
}

int osg_tm_load(void)
{
	return load_tm_api(&osg_tmb);
}

int osg_tm_register(struct sip_msg *msg, int types, osg_tmcb_f *f)
{
	return osg_tmb.register_tmcb(msg, 0, types, (transaction_cb *)f, 0, 0);
}

struct sip_msg *osg_tm_uas_request(void *t)
{
	struct cell *c = t;
	if (!c || !c->uas.request || c->uas.request == FAKED_REPLY)
		return NULL;
	return c->uas.request;
}

struct sip_msg *osg_tmcb_reply(void *ps)
{
	struct tmcb_params *p = ps;
	if (!p || !p->rpl || p->rpl == FAKED_REPLY)
		return NULL;
	return p->rpl;
}

void osg_tm_mark_request(unsigned int flags)
{
	struct cell *t;

	if (!osg_tmb.t_gett)
		return;
	t = osg_tmb.t_gett();
	if (t && t != T_UNDEFINED && t->uas.request)
		t->uas.request->msg_flags |= flags;
}

int osg_rr_load(void)
{
	return load_rr_api(&osg_rrb);
}

int osg_rr_append_fromtag(void)
{
	return osg_rrb.append_fromtag;
}

int osg_rr_add_param(struct sip_msg *msg, const char *p, int len)
{
	str s;
	s.s = (char *)p;
	s.len = len;
	return osg_rrb.add_rr_param(msg, &s);
}

int osg_rr_get_param(struct sip_msg *msg, const char *name, int nlen,
		const char **val, int *vlen)
{
	str n, v;
	n.s = (char *)name;
	n.len = nlen;
	if (osg_rrb.get_route_param(msg, &n, &v) != 0)
		return -1;
	*val = v.s;
	*vlen = v.len;
	return 0;
}

int osg_rr_is_direction(struct sip_msg *msg, int dir)
{
	return osg_rrb.is_direction(msg, dir);
}

int osg_rr_register(osg_rrcb_f *f)
{
	return osg_rrb.register_rrcb((rr_cb_t *)f, 0, 2);
}

/* ---- uac_auth() and uac_inc_cseq() of the uac module ---- */
#include "parser/parse_cseq.h"
#include "modules/uac_auth/uac_auth.h"

static uac_auth_api_t osg_uac_auth_api;

int osg_tm_has_trans(void)
{
	struct cell *t;
	if (!osg_tmb.t_gett)
		return 0;
	t = osg_tmb.t_gett();
	return t && t != T_UNDEFINED;
}

unsigned int osg_tm_request_flags(void)
{
	struct cell *t;
	if (!osg_tmb.t_gett)
		return 0;
	t = osg_tmb.t_gett();
	if (!t || t == T_UNDEFINED || !t->uas.request)
		return 0;
	return t->uas.request->msg_flags;
}

int osg_tm_picked(struct sip_msg **rpl, int *code, const char **uri, int *uri_len)
{
	struct cell *t;
	int branch;

	t = osg_tmb.t_gett();
	if (!t || t == T_UNDEFINED)
		return -1;
	branch = osg_tmb.t_get_picked();
	if (branch < 0)
		return -2;
	*rpl = t->uac[branch].reply;
	if (*rpl == FAKED_REPLY)
		*rpl = NULL;
	*code = t->uac[branch].last_received;
	*uri = t->uac[branch].uri.s;
	*uri_len = t->uac[branch].uri.len;
	return 0;
}

int osg_hdr_value(struct sip_msg *msg, int hdr_type, int idx, const char **s, int *len)
{
	struct hdr_field *h;
	for (h = msg->headers; h; h = h->next) {
		if ((int)h->type != hdr_type)
			continue;
		if (idx-- == 0) {
			*s = h->body.s;
			*len = h->body.len;
			return 0;
		}
	}
	return -1;
}

int osg_cseq(struct sip_msg *msg, int parse, const char **num, int *len, int *off)
{
	struct cseq_body *cb;
	if (parse && parse_headers(msg, HDR_CSEQ_F, 0) < 0)
		return -1;
	if (!msg->cseq || !msg->cseq->parsed)
		return -1;
	cb = (struct cseq_body *)msg->cseq->parsed;
	*num = cb->number.s;
	*len = cb->number.len;
	*off = cb->number.s - msg->buf;
	return 0;
}

int osg_body(struct sip_msg *msg, const char **s, int *len)
{
	str b = {NULL, 0};
	if (get_body(msg, &b) < 0)
		return -1;
	*s = b.s;
	*len = b.len;
	return 0;
}

int osg_has_totag(struct sip_msg *msg)
{
	if (!msg->to && (parse_headers(msg, HDR_TO_F, 0) != 0 || !msg->to))
		return 0;
	return get_to(msg)->tag_value.len > 0;
}

int osg_set_ruri(struct sip_msg *msg, const char *uri, int len)
{
	if (msg->new_uri.s) {
		pkg_free(msg->new_uri.s);
		msg->new_uri.len = 0;
	}
	msg->parsed_uri_ok = 0;
	msg->new_uri.s = pkg_malloc(len + 1);
	if (!msg->new_uri.s)
		return -1;
	memcpy(msg->new_uri.s, uri, len);
	msg->new_uri.s[len] = 0;
	msg->new_uri.len = len;
	return 0;
}

int osg_append_hdr(struct sip_msg *msg, const char *hdr, int len)
{
	struct lump *anchor;
	char *p;

	if (parse_headers(msg, HDR_EOH_F, 0) == -1)
		return -1;
	anchor = anchor_lump(msg, msg->unparsed - msg->buf, 0);
	if (!anchor)
		return -1;
	p = osg_pkg_copy(hdr, len);
	if (!p)
		return -1;
	if (!insert_new_lump_before(anchor, p, len, 0)) {
		pkg_free(p);
		return -1;
	}
	return 0;
}

int osg_uac_auth_load(void)
{
	return load_uac_auth_api(&osg_uac_auth_api);
}

int osg_uac_auth_lookup(const char *realm, int rlen, const char **user, int *ulen,
		const char **pw, int *plen)
{
	str r;
	struct uac_credential *c;

	if (!osg_uac_auth_api._lookup_realm)
		return -1;
	r.s = (char *)realm;
	r.len = rlen;
	c = osg_uac_auth_api._lookup_realm(&r);
	if (!c)
		return -1;
	*user = c->auth_data.user.s;
	*ulen = c->auth_data.user.len;
	*pw = c->auth_data.passwd.s;
	*plen = c->auth_data.passwd.len;
	return 0;
}

/* ---- a second uac_replace_*() for one request ---- */

int osg_replace_h(struct sip_msg *msg, int off, int len, const char *data, int dlen, void **h)
{
	struct lump *l, *a;
	char *p;

	*h = NULL;
	l = del_lump(msg, off, len, 0);
	if (!l)
		return -1;
	if (dlen == 0)
		return 0;
	p = osg_pkg_copy(data, dlen);
	if (!p)
		return -1;
	a = insert_new_lump_after(l, p, dlen, 0);
	if (!a) {
		pkg_free(p);
		return -1;
	}
	*h = a;
	return 0;
}

int osg_insert_h(struct sip_msg *msg, int off, const char *data, int dlen, void **h)
{
	struct lump *l, *a;
	char *p;

	*h = NULL;
	l = anchor_lump(msg, off, 0);
	if (!l)
		return -1;
	p = osg_pkg_copy(data, dlen);
	if (!p)
		return -1;
	a = insert_new_lump_after(l, p, dlen, 0);
	if (!a) {
		pkg_free(p);
		return -1;
	}
	*h = a;
	return 0;
}

int osg_lump_set(void *h, const char *data, int dlen)
{
	struct lump *l = h;
	char *p;

	if (!l || l->op != LUMP_ADD)
		return -1;
	p = osg_pkg_copy(data, dlen);
	if (!p)
		return -1;
	if (l->u.value)
		pkg_free(l->u.value);
	l->u.value = p;
	l->len = dlen;
	return 0;
}

/* every lump reachable from l through before/after (each lump's data list) */
static int osg_rewrite_in(struct lump *l, const char *old, int olen,
		const char *nw, int nlen, int depth)
{
	int n = 0, r;
	char *p;

	if (!l || depth > 256)
		return 0;
	if (l->op == LUMP_ADD && (int)l->len == olen && l->u.value
			&& memcmp(l->u.value, old, olen) == 0) {
		p = osg_pkg_copy(nw, nlen);
		if (!p)
			return -1;
		pkg_free(l->u.value);
		l->u.value = p;
		l->len = nlen;
		n++;
	}
	r = osg_rewrite_in(l->before, old, olen, nw, nlen, depth + 1);
	if (r < 0)
		return -1;
	n += r;
	r = osg_rewrite_in(l->after, old, olen, nw, nlen, depth + 1);
	if (r < 0)
		return -1;
	return n + r;
}

int osg_rewrite_add_lumps(struct sip_msg *msg, const char *old, int olen,
		const char *nw, int nlen)
{
	struct lump *t;
	int n = 0, r;

	for (t = msg->add_rm; t; t = t->next) {
		r = osg_rewrite_in(t->before, old, olen, nw, nlen, 0);
		if (r < 0)
			return -1;
		n += r;
		r = osg_rewrite_in(t->after, old, olen, nw, nlen, 0);
		if (r < 0)
			return -1;
		n += r;
	}
	return n;
}

unsigned int osg_msg_id(struct sip_msg *msg)
{
	return msg->id;
}

/* ---- uac with the dialog module: the replaced URIs and the CSeq shift are
 * kept in the dialog when there is one (as the stock module does) ---- */
#include "pvar.h"
#include "route_struct.h"
#include "ut.h"

static struct dlg_binds osg_dlgb;
static int osg_dlgb_loaded;

int osg_dlg_load(void)
{
	memset(&osg_dlgb, 0, sizeof osg_dlgb);
	if (load_dlg_api(&osg_dlgb) != 0)
		return -1;
	osg_dlgb_loaded = 1;
	return 0;
}

void *osg_dlg_get(void)
{
	if (!osg_dlgb_loaded || !osg_dlgb.get_dlg)
		return NULL;
	return osg_dlgb.get_dlg();
}

int osg_dlg_create(struct sip_msg *msg)
{
	if (!osg_dlgb_loaded)
		return -1;
	return osg_dlgb.create_dlg(msg, 0) < 0 ? -1 : 0;
}

int osg_dlg_store(void *dlg, const char *name, int nlen, const char *val, int vlen)
{
	str n = {(char *)name, nlen};
	int_str v;

	if (!val) /* no value: delete it */
		return osg_dlgb.store_dlg_value((struct dlg_cell *)dlg, &n, NULL,
				DLG_VAL_TYPE_NONE) < 0 ? -1 : 0;
	v.s.s = (char *)val;
	v.s.len = vlen;
	return osg_dlgb.store_dlg_value((struct dlg_cell *)dlg, &n, &v,
			DLG_VAL_TYPE_STR) < 0 ? -1 : 0;
}

int osg_dlg_fetch(void *dlg, const char *name, int nlen, const char **val, int *vlen)
{
	str n = {(char *)name, nlen};
	int type = 0;
	int_str v;

	if (osg_dlgb.fetch_dlg_value((struct dlg_cell *)dlg, &n, &type, &v, 0) != 0
			|| type != DLG_VAL_TYPE_STR)
		return -1;
	*val = v.s.s;
	*vlen = v.s.len;
	return 0;
}

int osg_dlg_register(void *dlg, int types, osg_dlgcb_f *f, long param)
{
	if (!osg_dlgb_loaded)
		return -1;
	return osg_dlgb.register_dlgcb((struct dlg_cell *)dlg, types,
			(dialog_cb *)f, (void *)param, NULL) != 0 ? -1 : 0;
}

struct sip_msg *osg_dlgcb_msg(void *params, unsigned int *direction, long *param)
{
	struct dlg_cb_params *p = params;

	*direction = p->direction;
	*param = (p->param && *p->param) ? (long)*p->param : 0;
	return p->msg;
}

int osg_dlg_leg(void *dlg, const char *ttag, int tlen)
{
	struct dlg_cell *d = dlg;
	str t = {(char *)ttag, tlen};

	if (tlen <= 0)
		return d->legs_no[DLG_LEGS_USED] - 1;
	if (str_match(&d->legs[DLG_CALLER_LEG].tag, &t))
		return DLG_CALLER_LEG;
	return callee_idx(d);
}

int osg_dlg_cseq_enforced(void *dlg)
{
	return (((struct dlg_cell *)dlg)->flags & DLG_FLAG_CSEQ_ENFORCE) != 0;
}

void osg_dlg_cseq_enforce(void *dlg)
{
	((struct dlg_cell *)dlg)->flags |= DLG_FLAG_CSEQ_ENFORCE;
}

unsigned int osg_dlg_last_cseq(void *dlg, int leg)
{
	return ((struct dlg_cell *)dlg)->legs[leg].last_gen_cseq;
}

void osg_dlg_set_last_cseq(void *dlg, int leg, unsigned int v)
{
	((struct dlg_cell *)dlg)->legs[leg].last_gen_cseq = v;
}

/* the branch AVPs the stock module uses ($bavp(739825) From, 739826 To) */
static pv_spec_t osg_bavp[2];
static int osg_bavp_ready;

int osg_bavp_init(void)
{
	str s[2] = {str_init("$bavp(739825)"), str_init("$bavp(739826)")};
	int i;

	for (i = 0; i < 2; i++)
		if (!pv_parse_spec(&s[i], &osg_bavp[i])
				|| osg_bavp[i].type != (pv_type_t)(903 + PVT_EXTRA))
			return -1;
	osg_bavp_ready = 1;
	return 0;
}

int osg_bavp_set(struct sip_msg *msg, int to, const char *v, int vlen)
{
	pv_value_t val;

	if (!osg_bavp_ready)
		return -1;
	memset(&val, 0, sizeof val);
	val.rs.s = (char *)v;
	val.rs.len = vlen;
	val.flags = PV_VAL_STR;
	return pv_set_value(msg, &osg_bavp[to ? 1 : 0], EQ_T, &val);
}

int osg_bavp_get(struct sip_msg *msg, int to, const char **v, int *vlen)
{
	pv_value_t val;

	if (!osg_bavp_ready)
		return -1;
	memset(&val, 0, sizeof val);
	if (pv_get_spec_value(msg, &osg_bavp[to ? 1 : 0], &val) != 0
			|| !(val.flags & PV_VAL_STR))
		return -1;
	*v = val.rs.s;
	*vlen = val.rs.len;
	return 0;
}

/* the CSeq header after its name (": 1 INVITE"), as offsets into msg->buf */
int osg_cseq_span(struct sip_msg *msg, int *off, int *len)
{
	if (parse_headers(msg, HDR_CSEQ_F, 0) < 0 || !msg->cseq)
		return -1;
	*off = msg->cseq->name.s + msg->cseq->name.len - msg->buf;
	*len = (msg->cseq->body.s + msg->cseq->body.len)
		- (msg->cseq->name.s + msg->cseq->name.len);
	return 0;
}

/* the To tag of msg (len 0 when none); 0 when To parses */
int osg_totag(struct sip_msg *msg, const char **s, int *len)
{
	if (!msg->to && (parse_headers(msg, HDR_TO_F, 0) != 0 || !msg->to))
		return -1;
	*s = get_to(msg)->tag_value.s;
	*len = get_to(msg)->tag_value.len;
	return 0;
}

/* ---- for the uac_registrant module ---- */
#include "context.h"
#include "socket_info.h"
#include "db/db.h"
#include "mi/item.h"
#include "parser/parse_authenticate.h"
#include "lib/digest_auth/digest_auth.h"
#include "modules/clusterer/api.h"

/* a local socket named "proto:host:port", NULL when we do not listen on it */
static const struct socket_info *osg_sock(const char *s, int len)
{
	str spec;
	char buf[256];

	if (!s || len <= 0 || len >= (int)sizeof buf)
		return NULL;
	/* parse_sock_info may write into the spec: work on a copy */
	memcpy(buf, s, len);
	buf[len] = 0;
	spec.s = buf;
	spec.len = len;
	return parse_sock_info(&spec);
}

int osg_socket_ok(const char *s, int len)
{
	return osg_sock(s, len) != NULL;
}

/* fills the dialog of a request within the Call-ID of reply rpl (CSeq of
 * rpl, its From tag, From and To URIs) */
static int osg_reply_ids(struct sip_msg *rpl, dlg_t *d)
{
	if (parse_headers(rpl, HDR_EOH_F, 0) < 0 || !rpl->callid || !rpl->cseq
			|| !rpl->from || !rpl->to || parse_from_header(rpl) < 0)
		return -1;
	if (str2int(&get_cseq(rpl)->number, &d->loc_seq.value) < 0)
		return -1;
	d->id.call_id = rpl->callid->body;
	trim(&d->id.call_id);
	d->id.loc_tag = get_from(rpl)->tag_value;
	d->loc_uri = get_from(rpl)->uri;
	d->rem_uri = get_to(rpl)->uri;
	return 0;
}

int osg_tm_request(const struct osg_req *r, osg_tmcb_f *cb, void *cbp,
		osg_release_f *release)
{
	str method = {(char *)r->method, r->method_len};
	str ruri = {(char *)r->ruri, r->ruri_len};
	str to = {(char *)r->to, r->to_len};
	str from = {(char *)r->from, r->from_len};
	str ouri = {(char *)r->ouri, r->ouri_len};
	str hdrs = {(char *)r->hdrs, r->hdrs_len};
	str body = {(char *)r->body, r->body_len};
	const struct socket_info *sock = NULL;
	dlg_t d;
	int ret;

	if (r->sock_len > 0 && !(sock = osg_sock(r->sock, r->sock_len)))
		return -2;
	if (!osg_tmb.t_request_within)
		return -1;
	memset(&d, 0, sizeof d);
	if (r->mode == 1) {
		if (osg_reply_ids(r->rpl, &d) < 0)
			return -3;
	} else {
		if (r->mode == 0 || r->callid_len <= 0)
			return -1; /* a new Call-ID is the caller's */
		d.id.call_id.s = (char *)r->callid;
		d.id.call_id.len = r->callid_len;
		d.id.loc_tag.s = (char *)r->ftag;
		d.id.loc_tag.len = r->ftag_len;
		d.loc_seq.value = r->cseq;
		d.loc_uri = from;
		d.rem_uri = to;
	}
	d.loc_seq.is_set = 1;
	d.rem_target = ruri;
	if (ouri.len > 0)
		d.obp = ouri;
	d.state = DLG_CONFIRMED;
	d.send_sock = sock;
	/* a context of its own, as stock uac_registrant sends from timers */
	if (!push_new_global_context())
		return -1;
	memset(current_processing_ctx, 0, context_size(CONTEXT_GLOBAL));
	ret = osg_tmb.t_request_within(&method, hdrs.len ? &hdrs : NULL,
			body.len ? &body : NULL, &d, (transaction_cb *)cb, cbp,
			(release_tmcb_param *)release);
	pop_pushed_global_context();
	return ret < 1 ? -1 : 0;
}

int osg_tmcb_code(void *ps)
{
	return ((struct tmcb_params *)ps)->code;
}

void *osg_tmcb_take_param(void *ps)
{
	struct tmcb_params *p = ps;
	void *v;

	if (!p || !p->param || !*p->param)
		return NULL;
	v = *p->param;
	*p->param = NULL;
	return v;
}

int osg_t_dst(void *t, unsigned char *ip, unsigned short *port, char *sock,
		int *sock_len)
{
	struct cell *c = t;
	union sockaddr_union *to;
	const struct socket_info *si;

	if (!c || c->nr_of_outgoings < 1) {
		*sock_len = 0;
		return 0;
	}
	si = c->uac[0].request.dst.send_sock;
	if (!si || sock_str_len(si, 0) > *sock_len || !socket2str(si, sock, sock_len, 0))
		*sock_len = 0;
	to = &c->uac[0].request.dst.to;
	switch (to->s.sa_family) {
	case AF_INET:
		memcpy(ip, &to->sin.sin_addr, 4);
		*port = ntohs(to->sin.sin_port);
		return 4;
	case AF_INET6:
		memcpy(ip, &to->sin6.sin6_addr, 16);
		*port = ntohs(to->sin6.sin6_port);
		return 6;
	}
	return 0;
}

/* the answer to challenge rpl (a 401/407) through the uac_auth API, as the
 * stock uac_registrant builds it; *hdr is pkg memory for the caller */
int osg_uac_auth_answer(struct sip_msg *rpl, int code, const char *uri, int ulen,
		const char *user, int userlen, const char *pw, int pwlen,
		char **hdr, int *hlen)
{
	struct authenticate_body *auth = NULL;
	struct authenticate_nc_cnonce nc;
	struct digest_auth_response response;
	struct uac_credential crd;
	static str method = str_init("REGISTER");
	str body = {NULL, 0};
	str u = {(char *)uri, ulen};
	str *h;

	if (!osg_uac_auth_api._do_uac_auth || !osg_uac_auth_api._build_authorization_hdr)
		return -1;
	if (code == 401)
		parse_www_authenticate_header(rpl, DAUTH_AHFM_ANYSUP, &auth);
	else
		parse_proxy_authenticate_header(rpl, DAUTH_AHFM_ANYSUP, &auth);
	if (!auth)
		return -2;
	if (!auth->realm.s || !auth->realm.len)
		return -3;
	memset(&crd, 0, sizeof crd);
	crd.auth_data.realm = auth->realm;
	crd.auth_data.user.s = (char *)user;
	crd.auth_data.user.len = userlen;
	crd.auth_data.passwd.s = (char *)pw;
	crd.auth_data.passwd.len = pwlen;
	if ((auth->flags & QOP_AUTH_INT) && get_body(rpl, &body) < 0)
		return -4;
	memset(&nc, 0, sizeof nc);
	if (osg_uac_auth_api._do_uac_auth(&body, &method, &u, &crd, auth, &nc, &response) != 0)
		return -5;
	h = osg_uac_auth_api._build_authorization_hdr(code, &u, &crd, auth, &nc, &response);
	if (!h || !h->s)
		return -6;
	*hdr = h->s;
	*hlen = h->len;
	/* the caller owns (and frees) it now: uac_auth's static is left empty,
	 * as stock uac_registrant leaves it (else the next answer warns of a
	 * "potential memory leak") */
	h->s = NULL;
	h->len = 0;
	return 0;
}

/* ---- the DB API ---- */
struct osg_db {
	db_func_t dbf;
	db_con_t *con;
	str table;
	db_res_t *res; /* a fetch_result query under way */
};

void *osg_db_open(const char *url, int ulen, const char *table, int tlen)
{
	str u = {(char *)url, ulen};
	struct osg_db *h = pkg_malloc(sizeof *h + tlen);

	if (!h)
		return NULL;
	memset(h, 0, sizeof *h);
	h->table.s = (char *)(h + 1);
	memcpy(h->table.s, table, tlen);
	h->table.len = tlen;
	if (db_bind_mod(&u, &h->dbf) < 0 || !(h->con = h->dbf.init(&u))) {
		pkg_free(h);
		return NULL;
	}
	if (h->dbf.use_table(h->con, &h->table) < 0) {
		h->dbf.close(h->con);
		pkg_free(h);
		return NULL;
	}
	return h;
}

void osg_db_close(void *db)
{
	struct osg_db *h = db;

	if (h->res)
		h->dbf.free_result(h->con, h->res);
	h->dbf.close(h->con);
	pkg_free(h);
}

int osg_db_can_fetch(void *db)
{
	return DB_CAPABILITY(((struct osg_db *)db)->dbf, DB_CAP_FETCH) ? 1 : 0;
}

int osg_db_check_version(void *db, unsigned int version)
{
	struct osg_db *h = db;
	int r = db_check_table_version(&h->dbf, h->con, &h->table, version);

	h->dbf.use_table(h->con, &h->table);
	return r < 0 ? -1 : 0;
}

/* SELECT cols WHERE keys = vals; fetch: start a fetch_result query (rows
 * then come from osg_db_fetch); else *res holds every row */
int osg_db_query(void *db, const char **cols, const int *clens, int ncols,
		const char **keys, const int *klens, const char **vals,
		const int *vlens, int nkeys, int fetch, void **res)
{
	struct osg_db *h = db;
	str cn[32], kn[8];
	db_key_t ck[32], kk[8];
	db_val_t kv[8];
	db_res_t *r = NULL;
	int i;

	if (ncols > 32 || nkeys > 8)
		return -1;
	for (i = 0; i < ncols; i++) {
		cn[i].s = (char *)cols[i];
		cn[i].len = clens[i];
		ck[i] = &cn[i];
	}
	for (i = 0; i < nkeys; i++) {
		kn[i].s = (char *)keys[i];
		kn[i].len = klens[i];
		kk[i] = &kn[i];
		memset(&kv[i], 0, sizeof kv[i]);
		VAL_TYPE(&kv[i]) = DB_STR;
		VAL_STR(&kv[i]).s = (char *)vals[i];
		VAL_STR(&kv[i]).len = vlens[i];
	}
	if (h->res) {
		h->dbf.free_result(h->con, h->res);
		h->res = NULL;
	}
	if (h->dbf.query(h->con, nkeys ? kk : NULL, NULL, nkeys ? kv : NULL, ck,
			nkeys, ncols, NULL, fetch ? NULL : &r) < 0)
		return -1;
	*res = r;
	return 0;
}

/* the next page of a fetch query (NULL at the end; it stays ours until the
 * next call or close) */
int osg_db_fetch(void *db, int n, void **res)
{
	struct osg_db *h = db;

	if (h->dbf.fetch_result(h->con, &h->res, n) < 0)
		return -1;
	*res = h->res;
	return 0;
}

void osg_db_free(void *db, void *res)
{
	struct osg_db *h = db;

	if (res && res != h->res)
		h->dbf.free_result(h->con, res);
}

int osg_db_rows(void *res)
{
	return res ? RES_ROW_N((db_res_t *)res) : 0;
}

/* cell (row, col): 0 NULL, 1 integer in *i, 2 text in *s/*len */
int osg_db_cell(void *res, int row, int col, long long *i, const char **s, int *len)
{
	db_row_t *rw = RES_ROWS((db_res_t *)res) + row;
	db_val_t *v;

	if (col >= ROW_N(rw))
		return 0;
	v = ROW_VALUES(rw) + col;
	if (VAL_NULL(v))
		return 0;
	switch (VAL_TYPE(v)) {
	case DB_INT: *i = VAL_INT(v); return 1;
	case DB_BIGINT: *i = VAL_BIGINT(v); return 1;
	case DB_BITMAP: *i = VAL_BITMAP(v); return 1;
	case DB_DOUBLE: *i = (long long)VAL_DOUBLE(v); return 1;
	case DB_DATETIME: *i = VAL_TIME(v); return 1;
	case DB_STRING:
		if (!VAL_STRING(v))
			return 0;
		*s = VAL_STRING(v);
		*len = strlen(*s);
		return 2;
	case DB_STR: *s = VAL_STR(v).s; *len = VAL_STR(v).len; return *s ? 2 : 0;
	case DB_BLOB: *s = VAL_BLOB(v).s; *len = VAL_BLOB(v).len; return *s ? 2 : 0;
	default: return 0;
	}
}

/* UPDATE SET col = ival (NULL when isnull) WHERE keys = vals */
int osg_db_update(void *db, const char **keys, const int *klens, const char **vals,
		const int *vlens, int nkeys, const char *col, int clen, int isnull,
		long long ival)
{
	struct osg_db *h = db;
	str kn[8], cn = {(char *)col, clen};
	db_key_t kk[8], uk = &cn;
	db_val_t kv[8], uv;
	int i;

	if (nkeys > 8)
		return -1;
	for (i = 0; i < nkeys; i++) {
		kn[i].s = (char *)keys[i];
		kn[i].len = klens[i];
		kk[i] = &kn[i];
		memset(&kv[i], 0, sizeof kv[i]);
		VAL_TYPE(&kv[i]) = DB_STR;
		VAL_STR(&kv[i]).s = (char *)vals[i];
		VAL_STR(&kv[i]).len = vlens[i];
	}
	memset(&uv, 0, sizeof uv);
	VAL_TYPE(&uv) = DB_INT;
	VAL_NULL(&uv) = isnull ? 1 : 0;
	VAL_INT(&uv) = (int)ival;
	h->dbf.use_table(h->con, &h->table);
	return h->dbf.update(h->con, kk, NULL, kv, &uk, &uv, nkeys, 1) < 0 ? -1 : 0;
}

/* ---- MI ---- */
int osg_mi_str_param(const void *params, const char *name, const char **s, int *len)
{
	char *v;
	int l;

	if (get_mi_string_param((const mi_params_t *)params, (char *)name, &v, &l) < 0)
		return -1;
	*s = v;
	*len = l;
	return 0;
}

void *osg_mi_result_object(void **obj)
{
	return init_mi_result_object((mi_item_t **)obj);
}

void *osg_mi_add_array(void *to, const char *name, int len)
{
	return add_mi_array(to, (char *)name, len);
}

void *osg_mi_add_object(void *to, const char *name, int len)
{
	return add_mi_object(to, (char *)name, len);
}

int osg_mi_add_string(void *to, const char *name, int nlen, const char *v, int vlen)
{
	return add_mi_string(to, (char *)name, nlen, (char *)v, vlen);
}

int osg_mi_add_number(void *to, const char *name, int nlen, double v)
{
	return add_mi_number(to, (char *)name, nlen, v);
}

void *osg_mi_ok(void)
{
	return init_mi_result_ok();
}

void *osg_mi_error(int code, const char *msg, int len)
{
	return init_mi_error(code, msg, len);
}

void *osg_mi_param_error(void)
{
	return init_mi_param_error();
}

void osg_mi_free(void *resp)
{
	free_mi_response(resp);
}

/* ---- clusterer: sharing tags ---- */
static struct clusterer_binds osg_clb;
static int osg_clb_loaded;

int osg_cl_load(void)
{
	if (load_clusterer_api(&osg_clb) != 0)
		return -1;
	osg_clb_loaded = 1;
	return 0;
}

int osg_cl_shtag_active(const char *tag, int len, int cluster)
{
	str t = {(char *)tag, len};

	return osg_clb_loaded && osg_clb.shtag_get(&t, cluster) == SHTAG_STATE_ACTIVE;
}

/* the core's db_default_url (NULL when not set) */
const char *osg_db_default_url(void)
{
	return db_default_url;
}

/* ---- the auth module (server side) ---- */
#include "parser/digest/digest.h"
#include "parser/parse_uri.h"
#include "data_lump_rpl.h"
#include "globals.h"
#include "pt.h"
#include "modules/signaling/signaling.h"
#include "error.h"

static struct sig_binds osg_sigb;

int osg_sig_load(void)
{
	return load_sig_api(&osg_sigb);
}

int osg_sig_reply(struct sip_msg *msg, int code, const char *reason, int rlen)
{
	str r = {(char *)reason, rlen};
	if (!osg_sigb.reply)
		return -1;
	if (!reason) {
		r.s = error_text(code);
		r.len = strlen(r.s);
	}
	return osg_sigb.reply(msg, code, &r, NULL);
}

int osg_add_rpl_hdr(struct sip_msg *msg, const char *hdr, int len)
{
	/* add_lump_rpl copies the text (no LUMP_RPL_NODUP) */
	return add_lump_rpl(msg, (char *)hdr, len, LUMP_RPL_HDR) ? 0 : -1;
}

int osg_req_method(struct sip_msg *msg)
{
	if (msg->first_line.type != SIP_REQUEST)
		return 0;
	return msg->REQ_METHOD;
}

/* the credentials of kind hftype whose realm is realm and whose algorithm
 * the digest library can compute, as stock's find_credentials: 0 found, 1
 * none, -2 no memory (500), other negative: unparsable (400) */
int osg_find_credentials(struct sip_msg *m, const char *realm, int rlen, int hftype,
		struct hdr_field **hp)
{
	struct hdr_field **hook, *ptr, *prev;
	hdr_flags_t flags;
	int res;

	*hp = NULL;
	if (hftype == HDR_PROXYAUTH_T) {
		hook = &m->proxy_auth;
		flags = HDR_PROXYAUTH_F;
	} else {
		hook = &m->authorization;
		flags = HDR_AUTHORIZATION_F;
	}
	if (*hook == NULL && parse_headers(m, flags, 0) == -1)
		return -1;
	ptr = *hook;
	while (ptr) {
		res = parse_credentials(ptr);
		if (res < 0)
			return res == -1 ? -2 : -3;
		if (res == 0) {
			dig_cred_t *d = &((auth_body_t *)ptr->parsed)->digest;
			alg_t a = d->alg.alg_parsed;
			if (d->realm.len == rlen && a >= ALG_UNSPEC && a <= ALG_SHA512_256SESS
					&& !strncasecmp(realm, d->realm.s, rlen)) {
				*hp = ptr;
				return 0;
			}
		}
		prev = ptr;
		if (parse_headers(m, flags, 1) == -1)
			return -4;
		if (prev != m->last_header && m->last_header->type == hftype)
			ptr = m->last_header;
		else
			break;
	}
	return 1;
}

/* get_authorized_cred on msg->authorization (kind 0) or msg->proxy_auth */
struct hdr_field *osg_authorized(struct sip_msg *msg, int proxy)
{
	struct hdr_field *h = NULL;
	get_authorized_cred(proxy ? msg->proxy_auth : msg->authorization, &h);
	return h;
}

/* removes the whole header */
int osg_del_hdr(struct sip_msg *msg, struct hdr_field *h)
{
	return del_lump(msg, h->name.s - msg->buf, h->len, 0) ? 0 : -1;
}

const char *osg_ruri(struct sip_msg *msg, int *len)
{
	str *u = GET_RURI(msg);
	*len = u->len;
	return u->s;
}

const char *osg_callid(struct sip_msg *msg, int *len)
{
	if (!msg->callid && (parse_headers(msg, HDR_CALLID_F, 0) == -1 || !msg->callid))
		return NULL;
	*len = msg->callid->body.len;
	return msg->callid->body.s;
}

const char *osg_src_ip(struct sip_msg *msg, int *len)
{
	char *s = ip_addr2a(&msg->rcv.src_ip);
	*len = s ? strlen(s) : 0;
	return s;
}

/* user and host of the From (0), To (1) or request (2) URI; 0 on success */
int osg_uri_user_host(struct sip_msg *msg, int which, const char **user, int *ulen,
		const char **host, int *hlen)
{
	struct sip_uri *u;

	if (which == 0)
		u = parse_from_uri(msg);
	else if (which == 1)
		u = parse_to_uri(msg);
	else
		u = parse_sip_msg_uri(msg) < 0 ? NULL : &msg->parsed_uri;
	if (!u)
		return -1;
	*user = u->user.s;
	*ulen = u->user.len;
	*host = u->host.s;
	*hlen = u->host.len;
	return 0;
}

int osg_process_no(void)
{
	return process_no;
}

long osg_startup_time(void)
{
	return (long)startup_time;
}

/* clusterer: one capability whose packets carry one str each (type 1), and
 * whose sync packets carry one str per chunk (osg_clb: the binding above) */
static str osg_clu_cap;
static int osg_clu_id;
static osg_clu_recv_f *osg_clu_recv;
static osg_clu_sync_f *osg_clu_sync;
#define OSG_CLU_RECORD 1
#define OSG_CLU_VERSION 1

static void osg_clu_packet(bin_packet_t *p)
{
	str s;

	if (p->type == SYNC_PACKET_TYPE) {
		while (osg_clb.sync_chunk_iter(p))
			if (bin_pop_str(p, &s) == 0)
				osg_clu_recv(s.s, s.len);
		return;
	}
	if (p->type == OSG_CLU_RECORD && bin_pop_str(p, &s) == 0)
		osg_clu_recv(s.s, s.len);
}

static void osg_clu_event(enum clusterer_event ev, int node_id)
{
	if (ev == SYNC_REQ_RCV)
		osg_clu_sync(node_id);
}

int osg_clu_init(int cluster_id, const char *cap, osg_clu_recv_f *recv, osg_clu_sync_f *sync)
{
	if (osg_cl_load() < 0)
		return -1;
	osg_clu_cap.s = (char *)cap;
	osg_clu_cap.len = strlen(cap);
	osg_clu_id = cluster_id;
	osg_clu_recv = recv;
	osg_clu_sync = sync;
	if (osg_clb.register_capability(&osg_clu_cap, osg_clu_packet, osg_clu_event,
			cluster_id, 1, NODE_CMP_ANY) < 0)
		return -2;
	if (osg_clb.request_sync(&osg_clu_cap, cluster_id, 0) < 0)
		return -3;
	return 0;
}

int osg_clu_send(const char *data, int len)
{
	bin_packet_t p;
	str s = {(char *)data, len};
	int rc;

	if (bin_init(&p, &osg_clu_cap, OSG_CLU_RECORD, OSG_CLU_VERSION, 0) != 0)
		return -2;
	bin_push_str(&p, &s);
	rc = osg_clb.send_all(&p, osg_clu_id);
	bin_free_packet(&p);
	return rc;
}

int osg_clu_sync_push(int node_id, const char *data, int len)
{
	bin_packet_t *p;
	str s = {(char *)data, len};

	p = osg_clb.sync_chunk_start(&osg_clu_cap, osg_clu_id, node_id, OSG_CLU_VERSION);
	if (!p)
		return -1;
	return bin_push_str(p, &s) < 0 ? -1 : 0;
}
