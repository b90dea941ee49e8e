//! Build script: generates Rust bindings for the installed Kamailio's headers and
//! compiles the C glue with exactly the core's compile-time defines.
//!
//! Inputs (environment):
//! - `KAMAILIO_SRC`: the Kamailio source tree to build for (default: the
//!   `.cache/kamailio-*/` tree `scripts/setup` fetched with `apt-get source
//!   kamailio` whose version is the installed core's). Its version (`VERSION`,
//!   `PATCHLEVEL`, `SUBLEVEL`, `EXTRAVERSION` of `src/Makefile.defs`) picks the core.
//! - `KAMAILIO_BIN`: the installed core binary (default: the first of the tree's
//!   own install prefix (`src/config.mak`), /usr/sbin, /usr/local/sbin whose
//!   `kamailio -I` reports the tree's version).
//! - `KAMAILIO_LIBDIR`: where the core keeps libsrdb1 (default: the parent of
//!   the core's module folder; 6.x has srdb1 inside the core binary).
//!
//! What differs between Kamailio versions is told apart by what the tree has,
//! never by a hard-coded list: the bindings come from its headers, and build.rs
//! emits one `cfg` per capability it finds in them (`kam_auth_hdr_arg`,
//! `kam_tm_drop_flag`, `kam_uac_req_timers`) plus `kamailio_ge = "X.Y"` for each
//! release line the tree's version reaches (the stock modules' surface and
//! defaults of that line). Only `src/kamailio/host/` and the module folders
//! (`src/kamailio/{uac,auth}/`) read them.
//!
//! The core refuses a module whose `module_version`/`module_flags` differ from its
//! own strings, and struct layouts depend on the same `-D` flags. So we:
//! 1. take the `-D` list from the source tree's own Makefile (`make printcdefs`),
//! 2. reconcile the feature flags with the ones the installed core reports (`kamailio -I`),
//! 3. preprocess the version macros with the final flags and fail the build unless
//!    they expand to the very strings the core prints.

use std::collections::BTreeSet;
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

// The OpenSIPS host (feature `opensips`): its own file.
include!("build_opensips.rs");

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=KAMAILIO_SRC");
    println!("cargo:rerun-if-env-changed=KAMAILIO_BIN");
    println!("cargo:rerun-if-changed=kamailio-glue/glue.c");
    println!("cargo:rerun-if-changed=include/uac_glue.h");
    println!("cargo:rerun-if-changed=include/uac_host.h");
    export_cfg();
    opensips_build::run(&manifest, &out);

    // Only the Kamailio host needs the Kamailio tree (feature `kamailio`).
    if env::var_os("CARGO_FEATURE_KAMAILIO").is_none() {
        return;
    }
    // The glue's log lines and memory tags carry the module's name.
    let mod_name = if env::var_os("CARGO_FEATURE_KAMAILIO_AUTH").is_some() {
        "\"auth\""
    } else {
        "\"uac\""
    };

    let src = kamailio_src(&manifest);
    let version = tree_version(&src);
    let mut core = CoreInfo::read(&kamailio_bin(&src, &version));
    core.drop_flags(&derived_flags(&src));
    let defines = reconcile_defines(&src, &core);
    version_cfgs(&version);

    // Check that the version macros expand to the core's own strings.
    check_version_strings(&src, &defines, &core, &out);

    // The glue: macros, inline functions and varargs logging that Rust cannot call.
    let mut glue = cc::Build::new();
    glue.file(manifest.join("kamailio-glue/glue.c"))
        .include(manifest.join("include"))
        .include(src.join("src"))
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-sign-compare")
        .flag_if_supported("-Wno-missing-field-initializers")
        // The host headers warn a lot under -Wextra; they are not ours to fix.
        .warnings(false)
        .define("MOD_NAME", Some(mod_name));
    for (k, v) in &defines {
        glue.define(k, v.as_deref());
    }
    glue.compile("uacglue");

    // Bindings for the host types and functions we use.
    let mut b = bindgen::Builder::default()
        .header(manifest.join("include/uac_host.h").to_string_lossy())
        .clang_arg(format!("-I{}", src.join("src").display()))
        .clang_arg(format!("-I{}", manifest.join("include").display()))
        .clang_arg(format!("-DMOD_NAME={mod_name}"))
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .allowlist_function("uacg_.*")
        .allowlist_type("uacg_const")
        .allowlist_function("parse_from_header|parse_headers|parse_to_header")
        .allowlist_function("del_lump|anchor_lump|insert_new_lump_after|insert_new_lump_before|remove_lump")
        .allowlist_function("fixup_spve_spve|fixup_free_spve_spve|get_str_fparam")
        .allowlist_function("pv_parse_spec2|pv_get_avp_name|add_avp|search_first_avp|destroy_avp")
        .allowlist_function("sr_kemi_modules_add|rewrite_uri|sr_cfgenv_get|pv_get_spec_value|pv_value_destroy")
        .allowlist_function("fixup_igp_null|fixup_free_igp_null|get_int_fparam")
        .allowlist_type("sr_cfgenv_t|pv_value_t|ua_client|_hdr_types_t|uac_req_t|dlg_t|pv_export_t|pv_spec_p")
        .allowlist_function("pv_get_strval|pv_get_uintval|pv_get_null|parse_to_header|str2int")
        .allowlist_var("TMCB_LOCAL_COMPLETED|TMCB_DESTROY|TMCB_ON_FAILURE|PV_NAME_INTSTR|PVT_OTHER|PV_VAL_INT|DLG_CONFIRMED")
        .allowlist_var("FL_UAC_AUTH|PARAM_USE_FUNC|USE_FUNC_PARAM|BRANCH_FAILURE_ROUTE|EVENT_ROUTE|PV_VAL_NULL|PV_VAL_STR")
        .allowlist_type("gparam_p|fparam_t|int_str")
        .allowlist_type("sip_msg|to_body|hdr_field|lump|module_exports|cmd_export_t|param_export_t")
        .allowlist_type("sr_kemi_t|rr_binds|tm_binds|dlg_binds|dlg_cb_params|pv_spec_t|tmcb_params|cell")
        .allowlist_var("FL_USE_UAC_FROM|FL_USE_UAC_TO|REQUEST_ROUTE|BRANCH_ROUTE|FAILURE_ROUTE|ONREPLY_ROUTE|ANY_ROUTE")
        .allowlist_var("PARAM_STR|PARAM_STRING|PARAM_INT|SR_KEMIP_.*|TMCB_RESPONSE_IN|TMCB_RESPONSE_FWDED|TMCB_RESPONSE_OUT|DLGCB_.*|DLG_DIR_.*|RR_FLOW_.*")
        .allowlist_var("SIP_REQUEST|SIP_REPLY|HDR_TO_F|HDR_FROM_F|AVP_VAL_STR|MAX_URI_SIZE|PVT_AVP")
        .allowlist_var("L_ALERT|L_BUG|L_CRIT2|L_CRIT|L_ERR|L_WARN|L_NOTICE|L_INFO|L_DBG")
        .allowlist_type("auth_api_s|auth_api_s_t|auth_body_t|dig_cred_t|auth_result|auth_result_t|request_method|avp_ident_t|sip_uri|qp")
        .allowlist_function("find_credentials|mark_authorized_cred|get_authorized_cred|check_dig_cred|parse_avp_ident")
        .allowlist_function("fixup_var_str_12|fixup_var_int_12|fixup_var_pve_str_12|fixup_pvar_null|fixup_spve_null|fixup_free_spve_null")
        .allowlist_function("parse_from_uri|parse_to_uri|parse_sip_msg_uri")
        .allowlist_var("HA_MD5|HA_MD5_SESS|QOP_.*|HDR_AUTHORIZATION_F|HDR_PROXYAUTH_F")
        // remote registrations: DB layer, RPC, counters, dst URI, PV set
        .allowlist_function("db_bind_mod|db_check_table_version|rpc_register_array|counter_register|set_dst_uri")
        .allowlist_function("pv_set_spec_value|pv_cache_get|fixup_spve_pvar|fixup_free_spve_pvar|fixup_spve_igp|fixup_free_spve_igp")
        .allowlist_function("fixup_spve_null|fixup_free_spve_null|get_int_fparam")
        .allowlist_type("db_cap|rpc_flags|db_func_t|db1_res_t|db_row_t|db_val_t|db1_con_t|db_op_t|rpc_t|rpc_export_t|counter_handle_t")
        .allowlist_var("DB1_.*|TMCB_LOCAL_COMPLETED|PROC_MAIN|TMCB_LOCAL_REQUEST_DROP|TBS_URI_ENCLOSED")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for (k, v) in &defines {
        b = b.clang_arg(match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        });
    }
    // uac.so needs the DB library, as the stock module does: on 5.x
    // libsrdb1 (with the runpath of Kamailio's library folder); 6.x builds
    // srdb1 into the core binary, whose symbols resolve at dlopen.
    let libdir = core_libdir(&core);
    if ["libsrdb1.so", "libsrdb1.so.1"]
        .iter()
        .any(|l| Path::new(&libdir).join(l).exists())
    {
        println!("cargo:rustc-cdylib-link-arg=-L{libdir}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-cdylib-link-arg=-lsrdb1");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{libdir}");
    }
    let bindings = b
        .generate()
        .expect("bindgen failed on the Kamailio headers")
        .to_string();
    capability_cfgs(&bindings);
    std::fs::write(out.join("bindings.rs"), bindings).expect("cannot write bindings.rs");
}

/// The capabilities of the tree's host API that our host layer switches on,
/// read from the bindings bindgen made of its headers (one `cfg` each):
/// - `kam_auth_hdr_arg`: auth's `pv_authenticate_f` takes `hdr_field_t **hdr`
///   before `method` (6.1: the API hands back the header it checked);
/// - `kam_tm_drop_flag`: tm reports a local request dropped by
///   `event_route[tm:local-request]` with `TMCB_LOCAL_REQUEST_DROP` in
///   `uac_req_t.cb_flags` (the callback never runs: its parameter is ours again);
/// - `kam_uac_req_timers`: `uac_req_t` has `cseqno`, `fr_timeout`, `fr_inv_timeout`.
fn capability_cfgs(bindings: &str) {
    let item = |start: &str| -> String {
        let i = bindings
            .find(start)
            .unwrap_or_else(|| panic!("bindings have no `{start}`"));
        let rest = &bindings[i..];
        rest[..rest.find(';').unwrap_or(rest.len())].to_string()
    };
    let uac_req = {
        let i = bindings
            .find("pub struct uac_req {")
            .expect("bindings have no uac_req");
        let rest = &bindings[i..];
        rest[..rest.find('}').unwrap_or(rest.len())].to_string()
    };
    let caps = [
        (
            "kam_auth_hdr_arg",
            item("pub type pv_authenticate_f").contains("hdr_field"),
        ),
        (
            "kam_tm_drop_flag",
            bindings.contains("pub const TMCB_LOCAL_REQUEST_DROP:"),
        ),
        (
            "kam_uac_req_timers",
            uac_req.contains("pub fr_timeout:") && uac_req.contains("pub cseqno:"),
        ),
    ];
    for (name, on) in caps {
        println!("cargo:rustc-check-cfg=cfg({name})");
        if on {
            println!("cargo:rustc-cfg={name}");
        }
    }
}

/// The release lines whose stock `uac`/`auth` surface and defaults our
/// modules follow: `kamailio_ge = "6.0"` and `"6.1"` when the tree is of that
/// line or later (5.6 is the oldest we build for).
fn version_cfgs(version: &str) {
    const LINES: [(u32, u32); 2] = [(6, 0), (6, 1)];
    let values: Vec<String> = LINES.iter().map(|(a, b)| format!("\"{a}.{b}\"")).collect();
    println!(
        "cargo:rustc-check-cfg=cfg(kamailio_ge, values({}))",
        values.join(", ")
    );
    let mut it = version.split('.').map(|n| {
        n.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    assert!(
        (major, minor) >= (5, 6),
        "Kamailio {version}: this crate builds for 5.6 and later"
    );
    for (a, b) in LINES {
        if (major, minor) >= (a, b) {
            println!("cargo:rustc-cfg=kamailio_ge=\"{a}.{b}\"");
        }
    }
    // the version the module was built for, for its start-up log line
    println!("cargo:rustc-env=UAC_KAMAILIO_VERSION={version}");
}

/// The tree's version as its Makefile.defs spells it (`6.1.4`): VERSION,
/// PATCHLEVEL, SUBLEVEL and EXTRAVERSION (what `make printcdefs` passes as
/// `-DVERSION`).
fn tree_version(src: &Path) -> String {
    let defs = std::fs::read_to_string(src.join("src/Makefile.defs"))
        .unwrap_or_else(|e| panic!("{}/src/Makefile.defs: {e}", src.display()));
    let get = |name: &str| -> String {
        defs.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let v = format!(
        "{}.{}.{}{}",
        get("VERSION"),
        get("PATCHLEVEL"),
        get("SUBLEVEL"),
        get("EXTRAVERSION")
    );
    assert!(
        v.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "{}: no version in src/Makefile.defs",
        src.display()
    );
    v
}

/// The module features, one per `.so` (see Cargo.toml).
const MODULE_FEATURES: [&str; 6] = [
    "kamailio-uac",
    "kamailio-auth",
    "opensips-uac",
    "opensips-uac-auth",
    "opensips-uac-registrant",
    "opensips-auth",
];

/// `cfg(uac_export = "<feature>")` when exactly one module feature is on: only
/// then does the build export that module's tables under the C names the core
/// looks up (`exports`, `mod_register`, `module_version`, `module_flags`).
/// With several (`--all-features`, a check build) every host and module is
/// compiled and no C name is exported, so the names cannot clash.
fn export_cfg() {
    let values: Vec<String> = MODULE_FEATURES.iter().map(|m| format!("\"{m}\"")).collect();
    println!(
        "cargo:rustc-check-cfg=cfg(uac_export, values({}))",
        values.join(", ")
    );
    let on: Vec<&str> = MODULE_FEATURES
        .into_iter()
        .filter(|m| {
            let var = format!("CARGO_FEATURE_{}", m.to_uppercase().replace('-', "_"));
            env::var_os(var).is_some()
        })
        .collect();
    if let [m] = on[..] {
        println!("cargo:rustc-cfg=uac_export=\"{m}\"");
    }
}

fn kamailio_src(manifest: &Path) -> PathBuf {
    if let Ok(p) = env::var("KAMAILIO_SRC") {
        let p = PathBuf::from(p);
        assert!(
            p.join("src/core/sr_module.h").exists(),
            "KAMAILIO_SRC={} is not a Kamailio source tree",
            p.display()
        );
        return p;
    }
    // The tree of the installed core's version (Debian's, which scripts/setup
    // fetched with `apt-get source`); other trees in .cache are for builds
    // that name them (the Makefile's 6.1 build).
    let cache = manifest.join(".cache");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("src/core/sr_module.h").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let bin = env::var("KAMAILIO_BIN").map_or_else(|_| default_core(), PathBuf::from);
    let core = CoreInfo::read(&bin);
    if let Some(p) = dirs
        .iter()
        .find(|d| core.version_number() == tree_version(d))
    {
        return p.clone();
    }
    panic!(
        "no Kamailio source tree of {}'s version ({}) in {}: run `scripts/setup` (it \
         fetches Debian's kamailio source package into .cache/) or set KAMAILIO_SRC",
        bin.display(),
        core.version,
        cache.display()
    );
}

/// The core `KAMAILIO_SRC` is not given for: Debian's, else the first in PATH.
fn default_core() -> PathBuf {
    ["/usr/sbin/kamailio", "/usr/local/sbin/kamailio"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("kamailio"))
}

/// Where the installed core keeps its libraries (libsrdb1 on 5.x): the
/// parent of its module folder (`KAMAILIO_LIBDIR` overrides).
fn core_libdir(core: &CoreInfo) -> String {
    println!("cargo:rerun-if-env-changed=KAMAILIO_LIBDIR");
    if let Ok(d) = env::var("KAMAILIO_LIBDIR") {
        return d;
    }
    Path::new(&core.modules)
        .parent()
        .map_or_else(|| core.modules.clone(), |p| p.display().to_string())
}

/// The installed core of the tree's `version`: `KAMAILIO_BIN`, else the first
/// of the tree's own install prefix (a source build's `make cfg PREFIX=...`),
/// Debian's and /usr/local's binaries that reports that version.
fn kamailio_bin(src: &Path, version: &str) -> PathBuf {
    if let Ok(p) = env::var("KAMAILIO_BIN") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(mak) = std::fs::read_to_string(src.join("src/config.mak")) {
        if let Some(prefix) = mak
            .lines()
            .find_map(|l| l.strip_prefix("PREFIX="))
            .map(str::trim)
        {
            candidates.push(Path::new(prefix).join("sbin/kamailio"));
        }
    }
    candidates.push(PathBuf::from("/usr/sbin/kamailio"));
    candidates.push(PathBuf::from("/usr/local/sbin/kamailio"));
    let mut seen = Vec::new();
    for c in candidates.into_iter().filter(|c| c.exists()) {
        let v = CoreInfo::read(&c).version_number();
        if v == version {
            return c;
        }
        seen.push(format!("{} is {v}", c.display()));
    }
    panic!(
        "no installed kamailio {version} for the tree {} ({}): set KAMAILIO_BIN to its core",
        src.display(),
        if seen.is_empty() {
            "none found".to_string()
        } else {
            seen.join(", ")
        }
    );
}

/// What the installed core says about itself (`kamailio -I`).
struct CoreInfo {
    /// SER_FULL_VERSION, e.g. `kamailio 5.6.3 (x86_64/linux)`.
    version: String,
    /// SER_COMPILE_FLAGS, e.g. `USE_TCP, USE_TLS, ...`.
    flags: String,
    /// The module folder it was built with (`/usr/lib/x86_64-linux-gnu/kamailio/modules`).
    modules: String,
}

impl CoreInfo {
    fn read(bin: &Path) -> CoreInfo {
        let out = Command::new(bin)
            .arg("-I")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} -I: {e}", bin.display()));
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> String {
            text.lines()
                .find_map(|l| l.trim_start().strip_prefix(name))
                .unwrap_or_else(|| panic!("`{} -I` printed no `{name}` line", bin.display()))
                .to_string()
        };
        // full_version is SER_FULL_VERSION " " REPO_VER; REPO_VER is empty in
        // distribution builds, which leaves one trailing space.
        let version = field("Version: ");
        let version = version.strip_suffix(' ').unwrap_or(&version).to_string();
        let flags = field("Compile flags: ");
        let modules = field("Default paths to modules: ");
        let modules = modules.split(':').next().unwrap_or("").trim().to_string();
        CoreInfo {
            version,
            flags,
            modules,
        }
    }

    /// Removes `names` from the flags string (see `derived_flags`).
    fn drop_flags(&mut self, names: &BTreeSet<String>) {
        self.flags = self
            .flags
            .split(", ")
            .filter(|f| !names.contains(f.trim()))
            .collect::<Vec<_>>()
            .join(", ");
    }

    /// `5.6.3` of `kamailio 5.6.3 (x86_64/linux)`.
    fn version_number(&self) -> String {
        self.version
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// The feature names in the flags string (`FAST_LOCK-ADAPTIVE_WAIT` is two).
    fn flag_names(&self) -> BTreeSet<String> {
        self.flags
            .split(',')
            .flat_map(|t| t.trim().split('-'))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }
}

type Defines = Vec<(String, Option<String>)>;

fn reconcile_defines(src: &Path, core: &CoreInfo) -> Defines {
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(src.join("src"))
        .arg("printcdefs")
        .output()
        .expect("cannot run make printcdefs in the Kamailio source tree");
    assert!(
        out.status.success(),
        "make printcdefs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let text = text.lines().last().unwrap_or("");
    let mut defines: Defines = split_defines(text);

    let (universe, printed_as) = ver_defs_names(src);
    let wanted: BTreeSet<String> = core
        .flag_names()
        .into_iter()
        .map(|n| printed_as.get(&n).cloned().unwrap_or(n))
        .collect();
    defines.retain(|(k, _)| !universe.contains(k) || wanted.contains(k));
    for f in &wanted {
        if universe.contains(f) && !defines.iter().any(|(k, _)| k == f) {
            defines.push((f.clone(), None));
        }
    }
    defines
}

/// The feature macros of `core/ver_defs.h` (each `#ifdef MACRO` adds a name to
/// SER_COMPILE_FLAGS), and the printed names that differ from their macro
/// (KSR_PTHREAD_MUTEX_SHARED prints as TLS_PTHREAD_MUTEX_SHARED): printed name
/// -> macro.
fn ver_defs_names(src: &Path) -> (BTreeSet<String>, std::collections::BTreeMap<String, String>) {
    let ver_defs = std::fs::read_to_string(src.join("src/core/ver_defs.h"))
        .expect("cannot read src/core/ver_defs.h");
    let lines: Vec<&str> = ver_defs.lines().map(str::trim).collect();
    let mut universe = BTreeSet::new();
    let mut printed_as = std::collections::BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(mac) = l.strip_prefix("#ifdef ").or_else(|| {
            l.strip_prefix("#elif defined (")
                .map(|m| m.trim_end_matches(')'))
        }) else {
            continue;
        };
        let mac = mac.trim().to_string();
        universe.insert(mac.clone());
        if let Some(name) = lines
            .get(i + 1)
            .and_then(|n| n.strip_prefix("#define "))
            .and_then(|n| n.split_once('"'))
            .map(|(_, lit)| {
                lit.trim_end_matches('"')
                    .trim_start_matches(", ")
                    .to_string()
            })
        {
            if !name.contains('-') {
                printed_as.insert(name, mac.clone());
            }
        }
    }
    (universe, printed_as)
}

/// The feature macros of ver_defs.h that a core header defines itself
/// (6.1's mem/q_malloc.h: `#define DBG_QM_MALLOC` when DBG_SR_MEMORY is on):
/// never given with -D. `kamailio -I` of 6.1 prints them (core/ver.c includes
/// mem/memcore.h first) but the loader's SER_COMPILE_FLAGS (sr_module.c) and
/// every module's lack them, so they leave the comparison too.
fn derived_flags(src: &Path) -> BTreeSet<String> {
    let (universe, printed_as) = ver_defs_names(src);
    let mut headers = Vec::new();
    let mut stack = vec![src.join("src/core")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "h") && !p.ends_with("ver_defs.h") {
                headers.push(p);
            }
        }
    }
    let mut derived = BTreeSet::new();
    for h in headers {
        let text = std::fs::read_to_string(&h).unwrap_or_default();
        for l in text.lines() {
            let l = l.trim_start().trim_start_matches('#').trim_start();
            if let Some(m) = l
                .strip_prefix("define")
                .and_then(|r| r.split_whitespace().next())
            {
                if universe.contains(m) {
                    derived.insert(m.to_string());
                }
            }
        }
    }
    // as printed
    let mut names: BTreeSet<String> = derived.clone();
    for (name, mac) in &printed_as {
        if derived.contains(mac) {
            names.insert(name.clone());
        }
    }
    names
}

/// Splits `-DA -DB="x y" -DC=1` into (name, value) pairs; values keep their quotes.
fn split_defines(text: &str) -> Defines {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ' ' | '\t' if !quoted => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
        .iter()
        .filter_map(|t| t.strip_prefix("-D"))
        .map(|d| match d.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (d.to_string(), None),
        })
        .collect()
}

/// The string a probe line `TAG <macro>` expanded to: the contents of its
/// adjacent string literals joined (`"kamailio " "5.6.3"` -> `kamailio 5.6.3`).
fn expanded_string(expanded: &str, tag: &str) -> String {
    let line = expanded
        .lines()
        .find_map(|l| l.strip_prefix(tag))
        .unwrap_or_else(|| panic!("preprocessor gave no {tag}"));
    let mut s = String::new();
    let mut inside = false;
    for c in line.chars() {
        match c {
            '"' => inside = !inside,
            _ if inside => s.push(c),
            _ => {}
        }
    }
    s
}

fn check_version_strings(src: &Path, defines: &Defines, core: &CoreInfo, out: &Path) {
    let probe = out.join("version_probe.c");
    std::fs::write(
        &probe,
        "#include \"core/ver_defs.h\"\nUACRS_VERSION SER_FULL_VERSION\nUACRS_FLAGS SER_COMPILE_FLAGS\n",
    )
    .unwrap();
    let mut b = cc::Build::new();
    b.file(&probe).include(src.join("src"));
    for (k, v) in defines {
        b.define(k, v.as_deref());
    }
    let expanded = String::from_utf8_lossy(&b.expand()).to_string();
    let get = |tag: &str| expanded_string(&expanded, tag);
    let (v, f) = (get("UACRS_VERSION "), get("UACRS_FLAGS "));
    // The module exports these two strings (src/kamailio/version.rs).
    println!("cargo:rustc-env=UAC_MODULE_VERSION={v}");
    println!("cargo:rustc-env=UAC_MODULE_FLAGS={f}");
    assert_eq!(
        v, core.version,
        "module version from the source tree differs from the installed core's"
    );
    assert_eq!(
        f, core.flags,
        "module compile flags from the source tree differ from the installed core's"
    );
}
