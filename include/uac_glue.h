/*
 * The narrow C API between the Kamailio glue (kamailio-glue/glue.c) and Rust.
 * Only what Rust cannot reach directly: macros, static inline functions and
 * varargs logging. Everything here is declared for bindgen as well.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef UAC_GLUE_H
#define UAC_GLUE_H

#include <stddef.h>
#include "core/rpc.h"

/* Host constants whose C spelling differs between Kamailio versions, under
 * one name (the macro works on both: 6.x renamed the enum member RET_ARRAY
 * to RPC_RET_ARRAY and kept RET_ARRAY as a macro). */
enum uacg_const {
	UACG_RET_ARRAY = RET_ARRAY,
};

struct sip_msg;
struct rr_binds;
struct tm_binds;
struct dlg_binds;
struct _pv_spec;
typedef struct _str str;

/* logging: level check first, user text always passed as an argument */
int uacg_log_enabled(int level);
void uacg_log(int level, const char *where, int wlen, const char *text, int len);

/* private (per-process) memory, as Kamailio's pkg_malloc/pkg_free macros */
void *uacg_pkg_malloc(size_t size);
void uacg_pkg_free(void *p);

/* shared memory, as Kamailio's shm_malloc/shm_free macros */
void *uacg_shm_malloc(size_t size);
void uacg_shm_free(void *p);

/* a gen_lock_t in shared memory (lock_alloc + lock_init); NULL on failure */
void *uacg_lock_new(void);
void uacg_lock_get(void *lock);
void uacg_lock_release(void *lock);
/* lock_destroy + lock_dealloc */
void uacg_lock_free(void *lock);

/* event_route[name]: its index, or -1 when the config has none */
int uacg_event_route_lookup(const char *name);
/* runs event route `rt` for msg (or a faked message when msg is NULL) as the
 * stock module does: route type REQUEST_ROUTE during the run */
void uacg_run_event_route(int rt, struct sip_msg *msg);
/* KEMI: runs the event callback function `cb` with the route name */
int uacg_run_kemi_event(str *cb, const char *name, struct sip_msg *msg);

/* fills a tm dialog from a reply (CSeq, Call-ID, From tag and URI, To URI),
 * for sending the authenticated request within it; 0 on success */
struct dlg;
int uacg_reply_dialog(struct sip_msg *rpl, struct dlg *d);

/* the current route type (get_route_type() macro) */
int uacg_route_type(void);

/* parse_headers(msg, HDR_EOH_F, 0): 0 when every header is parsed */
int uacg_parse_all_headers(struct sip_msg *msg);

/* the static inline API loaders of the rr, tm and dialog modules */
int uacg_load_rr_api(struct rr_binds *rrb);
int uacg_load_tm_api(struct tm_binds *tmb);
int uacg_load_dlg_api(struct dlg_binds *dlgb);

/* parse_headers(msg, HDR_ROUTE_F, 0): -1 on a parse error (a message without
 * Route is not an error) */
int uacg_parse_route(struct sip_msg *msg);

/* parse_headers(msg, HDR_TO_F, 0): 0 when the To header is parsed */
int uacg_parse_to(struct sip_msg *msg);

/* GET_RURI(msg): the current request URI (new_uri if set, else the first line's) */
void uacg_get_ruri(struct sip_msg *msg, str *out);

/* ruri_mark_new() macro: the R-URI is a branch for the next t_relay() */
void uacg_ruri_mark_new(void);

/* pv_parse_spec() macro */
int uacg_pv_parse_spec(str *in, struct _pv_spec *sp);

/* msg->id and msg->pid identify one message in one process */
unsigned int uacg_msg_id(struct sip_msg *msg);
int uacg_msg_pid(struct sip_msg *msg);

/* ---- auth module ---- */
/* binds the sl API (sl_load_api is static inline); 0 on success */
int uacg_sl_load(void);
/* sl reply: stateless (sreply) or, when stateful is set, freply (tm if a
 * transaction exists) */
int uacg_sl_reply(struct sip_msg *msg, int code, const char *reason, int rlen,
		int stateless);
/* the message body (get_body) to the end of the buffer; 0 on success, the
 * body may be empty */
int uacg_msg_body(struct sip_msg *msg, str *out);
/* the core's start time (up_since) and this process's number */
long uacg_up_since(void);
int uacg_process_no(void);
/* msg->first_line.u.request.method_value (0 for a reply) */
int uacg_req_method(struct sip_msg *msg);
/* the Call-ID body, the From tag, the source IP bytes: 0 when found */
int uacg_callid(struct sip_msg *msg, str *out);
int uacg_from_tag(struct sip_msg *msg, str *out);
int uacg_src_ip(struct sip_msg *msg, str *out);
/* adds a header to the reply this request will get (add_lump_rpl) */
int uacg_add_rpl_hdr(struct sip_msg *msg, const char *s, int len);
/* pv->setf(msg, &pv->pvp, EQ_T, string value); 0 on success */
int uacg_pv_set_str(struct _pv_spec *pv, struct sip_msg *msg, str *val);
/* is the pv writable (setf set)? */
int uacg_pv_writable(struct _pv_spec *pv);
/* remote registrations: the extra process the module forks (register_procs +
 * cfg_register_child, in mod_init) */
void uacg_reg_procs(int n);
/* forks a process of type PROC_TIMER named desc; the child initialises the
 * config framework and runs `run`, which never returns. The parent gets the
 * pid, -1 on error. */
int uacg_fork_proc(const char *desc, void (*run)(void));
/* cfg_update() macro */
void uacg_cfg_update(void);
/* DB_CAPABILITY(dbf, cap) */
struct db_func;
int uacg_db_cap(struct db_func *dbf, unsigned int cap);
/* parse_headers for HDR_EOH_F and the CSeq number of a message; -1 when none */
long uacg_cseq_number(struct sip_msg *msg);

/* shared memory: bytes available now, and the size of the pool (-m) */
unsigned long uacg_shm_available(void);
unsigned long uacg_shm_size(void);

#endif
