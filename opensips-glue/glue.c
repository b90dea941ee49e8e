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

void osg_shm_free(void *p)
{
	shm_free(p);
}
