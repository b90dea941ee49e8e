/*
 * The narrow C API between the OpenSIPS shims (opensips-glue/glue.c) and Rust:
 * only what Rust cannot reach directly (macros, static inline functions,
 * varargs logging). bindgen reads it too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef OSIPS_GLUE_H
#define OSIPS_GLUE_H

#include <stddef.h>

/* logging: level check first, user text always passed as an argument */
int osg_log_enabled(int level);
void osg_log(int level, const char *where, int wlen, const char *text, int len);

/* private (per-process) memory: OpenSIPS's pkg_malloc/pkg_free macros */
void *osg_pkg_malloc(size_t size);
void osg_pkg_free(void *p);

/* shared memory: shm_malloc/shm_free macros */
void *osg_shm_malloc(size_t size);
void osg_shm_free(void *p);
/* the shm pool's size and free bytes (SHM_GET_SIZE / SHM_GET_FREE) */
unsigned long osg_shm_size(void);
unsigned long osg_shm_free_bytes(void);
/* a gen_lock_t in shm: lock_alloc + lock_init (NULL when out of shm), get,
 * release, lock_destroy + lock_dealloc */
void *osg_lock_new(void);
void osg_lock_get(void *lock);
void osg_lock_release(void *lock);
void osg_lock_free(void *lock);

#endif

/* ---- for the uac module ---- */
struct sip_msg;
struct __str;

/* where the parts of a From/To header are, as offsets into msg->buf
 * (display_len 0: no display name; tag_len 0: no tag) */
struct osg_ident {
	int name_start;   /* header name */
	int name_end;     /* end of the header name (before ':') */
	int body_start;   /* header body (after ':' and white space) */
	int body_end;
	int uri_start;
	int uri_len;
	int display_start;
	int display_len;
	int tag_start;
	int tag_len;
};

/* parses From (which 0) or To (1) of msg and fills id; 0 on success */
int osg_ident(struct sip_msg *msg, int which, struct osg_ident *id);
/* the same for a request cloned into shm by tm (no allocation in it): the
 * parts of its From/To body, as offsets into that body; 0 on success */
int osg_shm_req_ident(struct sip_msg *req, int which, const char **body, int *body_len,
		int *uri_start, int *uri_len);
/* msg->buf and msg->len */
const char *osg_msg_buf(struct sip_msg *msg, int *len);
int osg_msg_is_request(struct sip_msg *msg);
unsigned int osg_msg_flags(struct sip_msg *msg);
void osg_msg_set_flags(struct sip_msg *msg, unsigned int flags);
/* del_lump(off, len) then insert_new_lump_after with a pkg copy of data */
int osg_replace(struct sip_msg *msg, int off, int len, const char *data, int dlen);
/* anchor_lump(off) then insert_new_lump_after with a pkg copy of data */
int osg_insert(struct sip_msg *msg, int off, const char *data, int dlen);
/* the current route type (route_type global) */
int osg_route_type(void);
int osg_script_func_used(const char *name);

/* tm: loaded once in mod_init; callbacks get (struct cell*, type, params*) */
int osg_tm_load(void);
typedef void (osg_tmcb_f)(void *t, int type, void *ps);
int osg_tm_register(struct sip_msg *msg, int types, osg_tmcb_f *f);
/* t->uas.request of a callback's transaction; NULL if none or faked */
struct sip_msg *osg_tm_uas_request(void *t);
/* the reply of a callback (ps->rpl); NULL if none or faked */
struct sip_msg *osg_tmcb_reply(void *ps);
/* sets flags also on the current transaction's uas.request (if any) */
void osg_tm_mark_request(unsigned int flags);

/* rr */
int osg_rr_load(void);
int osg_rr_append_fromtag(void);
int osg_rr_add_param(struct sip_msg *msg, const char *p, int len);
int osg_rr_get_param(struct sip_msg *msg, const char *name, int nlen,
		const char **val, int *vlen);
/* 0 when the request flows in direction dir (1 downstream, 2 upstream) */
int osg_rr_is_direction(struct sip_msg *msg, int dir);
typedef void (osg_rrcb_f)(struct sip_msg *msg, struct __str *param, void *cbp);
int osg_rr_register(osg_rrcb_f *f);

/* ---- uac_auth() and uac_inc_cseq() of the uac module ---- */
/* the picked branch of the current transaction: its reply (NULL when none or
 * faked), the reply code and the branch's request URI; 0 on success */
int osg_tm_picked(struct sip_msg **rpl, int *code, const char **uri, int *uri_len);
/* 1 when there is a current transaction */
int osg_tm_has_trans(void);
/* flags of the current transaction's uas.request (0 when none) */
unsigned int osg_tm_request_flags(void);
/* the idx-th header of type hdr_type (an enum _hdr_types_t value) among the
 * already parsed headers of msg; 0 when found */
int osg_hdr_value(struct sip_msg *msg, int hdr_type, int idx, const char **s, int *len);
/* the CSeq number of msg (parsing the CSeq header when parse is set); 0 on
 * success, with its offset into msg->buf */
int osg_cseq(struct sip_msg *msg, int parse, const char **num, int *len, int *off);
/* the message body (get_body); 0 on success (len 0 when none) */
int osg_body(struct sip_msg *msg, const char **s, int *len);
/* 1 when msg has a To tag */
int osg_has_totag(struct sip_msg *msg);
/* sets the request URI (new_uri, pkg copy) as the stock uac_auth() does */
int osg_set_ruri(struct sip_msg *msg, const char *uri, int len);
/* adds a header line (CRLF included) after the last header */
int osg_append_hdr(struct sip_msg *msg, const char *hdr, int len);
/* the uac_auth module's API (load_uac_auth); 0 on success */
int osg_uac_auth_load(void);
/* the credential for a realm through the uac_auth API; 0 when found */
int osg_uac_auth_lookup(const char *realm, int rlen, const char **user, int *ulen,
		const char **pw, int *plen);

/* ---- a second uac_replace_*() for one request ---- */
/* as osg_replace/osg_insert, also giving the lump that holds the new data
 * (NULL when no data was inserted) */
int osg_replace_h(struct sip_msg *msg, int off, int len, const char *data, int dlen, void **h);
int osg_insert_h(struct sip_msg *msg, int off, const char *data, int dlen, void **h);
/* replaces the data of an ADD lump made by osg_*_h (pkg copy; old freed) */
int osg_lump_set(void *h, const char *data, int dlen);
/* replaces the data of every ADD lump of msg whose data is exactly old
 * (rr's copies of a Record-Route parameter); how many were changed, -1 on
 * error */
int osg_rewrite_add_lumps(struct sip_msg *msg, const char *old, int olen,
		const char *nw, int nlen);
/* msg->id */
unsigned int osg_msg_id(struct sip_msg *msg);

/* ---- uac with the dialog module ---- */
/* loads the dialog API into the glue (mod_init); 0 on success */
int osg_dlg_load(void);
/* the current dialog (NULL when none or the API is not loaded) */
void *osg_dlg_get(void);
/* create_dlg(msg, 0); 0 on success */
int osg_dlg_create(struct sip_msg *msg);
/* store_dlg_value / fetch_dlg_value of a string value; 0 on success (a
 * NULL val deletes the value). A fetched value sits in the dialog module's
 * per-process buffer: valid until the next fetch */
int osg_dlg_store(void *dlg, const char *name, int nlen, const char *val, int vlen);
int osg_dlg_fetch(void *dlg, const char *name, int nlen, const char **val, int *vlen);
/* register_dlgcb (dlg NULL: global, e.g. DLGCB_LOADED); the callback gets
 * (struct dlg_cell*, type, struct dlg_cb_params*) and reads them with
 * osg_dlgcb_msg; 0 on success */
typedef void (osg_dlgcb_f)(void *dlg, int type, void *params);
int osg_dlg_register(void *dlg, int types, osg_dlgcb_f *f, long param);
/* a dialog callback's message (may be NULL), direction and param */
struct sip_msg *osg_dlgcb_msg(void *params, unsigned int *direction, long *param);
/* the stock uac_auth()'s leg choice for a To tag (len 0: the last leg) */
int osg_dlg_leg(void *dlg, const char *ttag, int tlen);
/* DLG_FLAG_CSEQ_ENFORCE and legs[leg].last_gen_cseq */
int osg_dlg_cseq_enforced(void *dlg);
void osg_dlg_cseq_enforce(void *dlg);
unsigned int osg_dlg_last_cseq(void *dlg, int leg);
void osg_dlg_set_last_cseq(void *dlg, int leg, unsigned int v);
/* the stock module's branch AVPs $bavp(739825) (From) / 739826 (To):
 * parsed once (mod_init); set returns pv_set_value's result (-2 outside a
 * branch route); get 0 when found */
int osg_bavp_init(void);
int osg_bavp_set(struct sip_msg *msg, int to, const char *v, int vlen);
int osg_bavp_get(struct sip_msg *msg, int to, const char **v, int *vlen);
/* the CSeq header after its name (": 1 INVITE"): offset and length */
int osg_cseq_span(struct sip_msg *msg, int *off, int *len);
/* the To tag of msg (len 0 when none); 0 when To parses */
int osg_totag(struct sip_msg *msg, const char **s, int *len);

/* ---- the uac_registrant module ---- */
/* a request for osg_tm_request: mode 0 a new Call-ID (not supported: the
 * caller names it), 1 within the Call-ID of reply rpl (CSeq + 1), 2 within
 * callid/ftag after cseq */
struct osg_req {
	int mode;
	struct sip_msg *rpl;
	const char *method; int method_len;
	const char *ruri; int ruri_len;
	const char *to; int to_len;
	const char *from; int from_len;
	const char *ouri; int ouri_len;
	const char *hdrs; int hdrs_len;
	const char *body; int body_len;
	const char *sock; int sock_len;
	const char *callid; int callid_len;
	const char *ftag; int ftag_len;
	unsigned int cseq;
};
typedef void (osg_release_f)(void *param);
/* t_request_within in a context of its own; cb runs on the final reply
 * (TMCB_LOCAL_COMPLETED) with cbp, release frees what cb did not take;
 * 0 sent, -2 unknown socket, -3 unusable reply, -1 other */
int osg_tm_request(const struct osg_req *r, osg_tmcb_f *cb, void *cbp,
		osg_release_f *release);
int osg_tmcb_code(void *ps);
/* *ps->param, set to NULL (the release function then gets NULL) */
void *osg_tmcb_take_param(void *ps);
/* Where transaction t's first branch went: 4 or 6 with the address in
 * ip (4 or 16 bytes) and the port in *port, 0 when it is not known; the
 * socket it left from ("udp:127.0.0.1:5060") in sock, *sock_len bytes of
 * at most the *sock_len given (0: none, or too long). */
int osg_t_dst(void *t, unsigned char *ip, unsigned short *port, char *sock,
		int *sock_len);
int osg_socket_ok(const char *s, int len);
int osg_uac_auth_answer(struct sip_msg *rpl, int code, const char *uri, int ulen,
		const char *user, int userlen, const char *pw, int pwlen,
		char **hdr, int *hlen);

/* the DB API: a connection on one table (pkg), NULL on failure */
void *osg_db_open(const char *url, int ulen, const char *table, int tlen);
void osg_db_close(void *db);
int osg_db_can_fetch(void *db);
int osg_db_check_version(void *db, unsigned int version);
int osg_db_query(void *db, const char **cols, const int *clens, int ncols,
		const char **keys, const int *klens, const char **vals,
		const int *vlens, int nkeys, int fetch, void **res);
int osg_db_fetch(void *db, int n, void **res);
void osg_db_free(void *db, void *res);
int osg_db_rows(void *res);
int osg_db_cell(void *res, int row, int col, long long *i, const char **s, int *len);
int osg_db_update(void *db, const char **keys, const int *klens, const char **vals,
		const int *vlens, int nkeys, const char *col, int clen, int isnull,
		long long ival);

/* MI: parameters and the response */
int osg_mi_str_param(const void *params, const char *name, const char **s, int *len);
void *osg_mi_result_object(void **obj);
void *osg_mi_add_array(void *to, const char *name, int len);
void *osg_mi_add_object(void *to, const char *name, int len);
int osg_mi_add_string(void *to, const char *name, int nlen, const char *v, int vlen);
int osg_mi_add_number(void *to, const char *name, int nlen, double v);
void *osg_mi_ok(void);
void *osg_mi_error(int code, const char *msg, int len);
void *osg_mi_param_error(void);
void osg_mi_free(void *resp);

/* clusterer */
int osg_cl_load(void);
int osg_cl_shtag_active(const char *tag, int len, int cluster);
const char *osg_db_default_url(void);

/* ---- the auth module (server side) ---- */
struct hdr_field;
/* signaling's reply (stateful when there is a transaction; reason NULL: the
 * core's text for the code); loaded in mod_init */
int osg_sig_load(void);
int osg_sig_reply(struct sip_msg *msg, int code, const char *reason, int rlen);
/* a header line (CRLF included) for the reply to come (a copy) */
int osg_add_rpl_hdr(struct sip_msg *msg, const char *hdr, int len);
/* msg->REQ_METHOD (0 for a reply) */
int osg_req_method(struct sip_msg *msg);
/* stock's find_credentials: 0 found (*h), 1 none, -2 no memory, other
 * negative: unparsable */
int osg_find_credentials(struct sip_msg *msg, const char *realm, int rlen, int hftype,
		struct hdr_field **h);
/* the credentials marked authorized among Authorization (proxy 0) or
 * Proxy-Authorization headers; NULL when none */
struct hdr_field *osg_authorized(struct sip_msg *msg, int proxy);
/* a del lump over the whole header; 0 on success */
int osg_del_hdr(struct sip_msg *msg, struct hdr_field *h);
/* GET_RURI; the Call-ID (NULL when none); the source IP as text */
const char *osg_ruri(struct sip_msg *msg, int *len);
const char *osg_callid(struct sip_msg *msg, int *len);
const char *osg_src_ip(struct sip_msg *msg, int *len);
/* user and host of the From (0), To (1) or request (2) URI; 0 on success */
int osg_uri_user_host(struct sip_msg *msg, int which, const char **user, int *ulen,
		const char **host, int *hlen);
/* process_no and startup_time of the core */
int osg_process_no(void);
long osg_startup_time(void);
/* clusterer: a capability named cap in cluster_id whose records (one str a
 * packet, or a chunk of a sync packet) go to recv, and whose sync requests
 * (a node joining) go to sync; a sync is requested at once; 0 on success */
typedef void (osg_clu_recv_f)(const char *data, int len);
typedef void (osg_clu_sync_f)(int node_id);
int osg_clu_init(int cluster_id, const char *cap, osg_clu_recv_f *recv, osg_clu_sync_f *sync);
/* one record to every other node: clusterer's send_all result (0 sent) */
int osg_clu_send(const char *data, int len);
/* one record of a sync for node_id; 0 on success */
int osg_clu_sync_push(int node_id, const char *data, int len);
