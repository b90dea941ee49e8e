/*
 * The OpenSIPS headers bindgen reads: every OpenSIPS type and function the
 * modules use, plus the glue API.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "sr_module.h"
#include "dprint.h"
#include "pvar.h"
#include "usr_avp.h"
#include "data_lump.h"
#include "parser/msg_parser.h"
#include "parser/parse_from.h"
#include "parser/parse_to.h"
#include "parser/parse_authenticate.h"
#include "lib/digest_auth/digest_auth.h"
#include "modules/uac_auth/uac_auth.h"
#include "modules/dialog/dlg_load.h"
#include "modules/auth/api.h"

#include "osips_glue.h"
