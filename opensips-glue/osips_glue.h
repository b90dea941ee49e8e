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

#endif
