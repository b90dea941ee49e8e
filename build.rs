//! Build script: generates Rust bindings for the installed Kamailio's headers and
//! compiles the C glue with exactly the core's compile-time defines.
//!
//! Inputs (environment):
//! - `KAMAILIO_SRC`: the Kamailio source tree matching the installed core (default:
//!   the first `.cache/kamailio-*/` folder that `scripts/setup` fetched with
//!   `apt-get source kamailio`).
//! - `KAMAILIO_BIN`: the installed core binary (default: `kamailio` in PATH or /usr/sbin).
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
    let core = CoreInfo::read(&kamailio_bin());
    let defines = reconcile_defines(&src, &core);

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
        .allowlist_type("gparam_p|fparam_t")
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
        .allowlist_var("DB1_.*|TMCB_LOCAL_COMPLETED|PROC_MAIN|RET_ARRAY")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for (k, v) in &defines {
        b = b.clang_arg(match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        });
    }
    // uac.so needs the DB library, as the stock module does (libsrdb1, with
    // the runpath of Kamailio's library folder).
    let libdir = core_libdir();
    println!("cargo:rustc-cdylib-link-arg=-L{libdir}");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-cdylib-link-arg=-lsrdb1");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{libdir}");
    b.generate()
        .expect("bindgen failed on the Kamailio headers")
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
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
    let cache = manifest.join(".cache");
    if let Ok(rd) = std::fs::read_dir(&cache) {
        let mut dirs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("src/core/sr_module.h").exists())
            .collect();
        dirs.sort();
        if let Some(p) = dirs.pop() {
            return p;
        }
    }
    panic!(
        "no Kamailio source tree: run `scripts/setup` (it fetches Debian's kamailio source \
         package into .cache/) or set KAMAILIO_SRC"
    );
}

/// Where the installed Kamailio keeps libsrdb1 (`KAMAILIO_LIBDIR` overrides).
fn core_libdir() -> String {
    println!("cargo:rerun-if-env-changed=KAMAILIO_LIBDIR");
    if let Ok(d) = env::var("KAMAILIO_LIBDIR") {
        return d;
    }
    for d in [
        "/usr/lib/x86_64-linux-gnu/kamailio",
        "/usr/lib/kamailio",
        "/usr/local/lib64/kamailio",
        "/usr/local/lib/kamailio",
    ] {
        if Path::new(d).join("libsrdb1.so").exists() || Path::new(d).join("libsrdb1.so.1").exists()
        {
            return d.to_string();
        }
    }
    "/usr/lib/x86_64-linux-gnu/kamailio".to_string()
}

fn kamailio_bin() -> PathBuf {
    if let Ok(p) = env::var("KAMAILIO_BIN") {
        return PathBuf::from(p);
    }
    for p in ["/usr/sbin/kamailio", "/usr/local/sbin/kamailio"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("kamailio")
}

/// What the installed core says about itself (`kamailio -I`).
struct CoreInfo {
    /// SER_FULL_VERSION, e.g. `kamailio 5.6.3 (x86_64/linux)`.
    version: String,
    /// SER_COMPILE_FLAGS, e.g. `USE_TCP, USE_TLS, ...`.
    flags: String,
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
        CoreInfo { version, flags }
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

    // ver_defs.h turns each `#ifdef MACRO` into a name in SER_COMPILE_FLAGS;
    // mostly the same word, sometimes not (KSR_PTHREAD_MUTEX_SHARED prints as
    // TLS_PTHREAD_MUTEX_SHARED). Map printed names back to macros.
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
