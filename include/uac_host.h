/*
 * The host headers bindgen reads: every Kamailio type and function the module
 * uses, plus the glue API.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "core/sr_module.h"
#include "core/mod_fix.h"
#include "core/dprint.h"
#include "core/route.h"
#include "core/pvar.h"
#include "core/usr_avp.h"
#include "core/kemi.h"
#include "core/data_lump.h"
#include "core/dset.h"
#include "core/srapi.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_from.h"
#include "core/parser/parse_to.h"
#include "modules/tm/tm_load.h"
#include "modules/tm/h_table.h"
#include "modules/rr/api.h"
#include "modules/dialog/dlg_load.h"
#include "modules/dialog/dlg_hash.h"
#include "modules/auth/api.h"
#include "core/parser/parse_uri.h"
#include "lib/srdb1/db.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/counters.h"

#include "uac_glue.h"
