// The OpenSIPS part of the build script (included by build.rs; runs only with
// the `opensips` feature): bindgen over the unpacked OpenSIPS tree, the C
// shims in opensips-glue/ compiled with the tree's own -D flags, and the
// strings of OpenSIPS's version check (`exports.ver_info`) derived from them.
//
// Inputs (environment):
// - `OPENSIPS_SRC`: the built OpenSIPS 3.6 tree (default: the `.cache/opensips-*`
//   tree that scripts/setup-opensips unpacked and built).
// - `OPENSIPS_BIN`: the core binary built from it (default
//   `.cache/opensips/sbin/opensips`), used to check the version string.
//
// OpenSIPS refuses a module unless its ver_info equals the core's: version
// string, compile-flags string and source-control type/revision. All four are
// macros of the tree (version.h, Makefile.defs), so we ask the tree's Makefile
// for its -D list and let the preprocessor expand them, never hard-coding one.

mod opensips_build {
    use std::env;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub fn run(manifest: &Path, out: &Path) {
        println!("cargo:rerun-if-env-changed=OPENSIPS_SRC");
        println!("cargo:rerun-if-env-changed=OPENSIPS_BIN");
        println!("cargo:rerun-if-changed=build_opensips.rs");
        println!("cargo:rerun-if-changed=opensips-glue/glue.c");
        println!("cargo:rerun-if-changed=opensips-glue/osips_glue.h");
        println!("cargo:rerun-if-changed=opensips-glue/osips_host.h");
        if env::var_os("CARGO_FEATURE_OPENSIPS").is_none() {
            return;
        }
        // The module name goes into the log prefix (LOG_PREFIX stringifies it).
        let mod_name = if env::var_os("CARGO_FEATURE_OPENSIPS_UAC_AUTH").is_some() {
            "uac_auth"
        } else if env::var_os("CARGO_FEATURE_OPENSIPS_AUTH").is_some() {
            "auth"
        } else {
            "uac"
        };
        let src = opensips_src(manifest);
        let mut defines = tree_defines(&src, out);
        defines.push(("MOD_NAME".into(), Some(mod_name.into())));

        version_strings(&src, &defines, out, manifest);

        let mut glue = cc::Build::new();
        glue.file(manifest.join("opensips-glue/glue.c"))
            .include(manifest.join("opensips-glue"))
            .include(&src)
            .flag("-fPIC")
            .warnings(false);
        for (k, v) in &defines {
            glue.define(k, v.as_deref());
        }
        glue.compile("osipsglue");

        let mut b = bindgen::Builder::default()
            .header(manifest.join("opensips-glue/osips_host.h").to_string_lossy())
            .clang_arg(format!("-I{}", src.display()))
            .clang_arg(format!("-I{}", manifest.join("opensips-glue").display()))
            .derive_default(true)
            .layout_tests(false)
            .generate_comments(false)
            .allowlist_function("osg_.*")
            .allowlist_function("pv_parse_spec|pv_get_avp_name|search_first_avp|add_avp|pv_get_spec_value")
            .allowlist_function("parse_headers|parse_from_header|parse_to_header|del_lump|anchor_lump")
            .allowlist_function("insert_new_lump_after|insert_new_lump_before|find_export|get_body")
            .allowlist_function("parse_www_authenticate_header|parse_proxy_authenticate_header")
            .allowlist_type("module_exports|cmd_export_t|param_export_t|dep_export_t|authenticate_body")
            .allowlist_type("uac_credential|authenticate_nc_cnonce|digest_auth_response|uac_auth_api_t")
            .allowlist_type("str_const|usr_avp|int_str|pv_spec_t|pv_value_t|sip_msg|hdr_field|to_body")
            .allowlist_type("tm_binds|rr_binds|dlg_binds|cell|tmcb_params|dlg_cell|gparam_t|lump")
            .allowlist_var("STR_PARAM|INT_PARAM|USE_FUNC_PARAM|QOP_AUTH|QOP_AUTH_INT|AUTHENTICATE_STALE")
            .allowlist_var("AVP_VAL_STR|L_ERR|L_WARN|L_NOTICE|L_INFO|L_DBG|RTLD_NOW|MAX_CMD_PARAMS")
            .allowlist_var("REQUEST_ROUTE|FAILURE_ROUTE|BRANCH_ROUTE|ONREPLY_ROUTE|LOCAL_ROUTE|ALL_ROUTES")
            .allowlist_var("CMD_PARAM_.*|SIP_REQUEST|SIP_REPLY|HDR_.*_F|PV_VAL_STR|FL_USE_UAC_.*")
            .allowlist_var("TMCB_.*|DLGCB_.*|DLG_DIR_.*|T_UNDEFINED|T_NULL_CELL")
            .allowlist_type("osg_ident|module_dependency_t|modparam_dependency_t")
            .allowlist_function("alloc_module_dep")
            // auth: the API table (modules/auth/api.h) and the parsed credentials
            .allowlist_type("auth_api_t|auth_body_t|dig_cred_t|calc_HA1_arg|nonce_context|nonce_params")
            .allowlist_type("request_method")
            .allowlist_function("check_dig_cred|mark_authorized_cred|pv_get_spec_value|pv_value_destroy")
            .allowlist_var("AUTH_SKIP_.*")
            .rustified_enum("module_type")
            .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
        for (k, v) in &defines {
            b = b.clang_arg(match v {
                Some(v) => format!("-D{k}={v}"),
                None => format!("-D{k}"),
            });
        }
        b.generate()
            .expect("bindgen failed on the OpenSIPS headers")
            .write_to_file(out.join("opensips_bindings.rs"))
            .expect("cannot write opensips_bindings.rs");
    }

    fn opensips_src(manifest: &Path) -> PathBuf {
        let is_tree = |p: &Path| p.join("sr_module.h").exists() && p.join("version.h").exists();
        if let Ok(p) = env::var("OPENSIPS_SRC") {
            let p = PathBuf::from(p);
            assert!(is_tree(&p), "OPENSIPS_SRC={} is not an OpenSIPS tree", p.display());
            return p;
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(manifest.join(".cache"))
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_tree(p))
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs.pop().unwrap_or_else(|| {
            panic!(
                "no OpenSIPS tree: run `scripts/setup-opensips` (it builds OpenSIPS into \
                 .cache/) or set OPENSIPS_SRC"
            )
        })
    }

    fn opensips_bin(manifest: &Path) -> Option<PathBuf> {
        if let Ok(p) = env::var("OPENSIPS_BIN") {
            return Some(PathBuf::from(p));
        }
        let p = manifest.join(".cache/opensips/sbin/opensips");
        p.exists().then_some(p)
    }

    // The -D list type and its splitter are build.rs's (this file is included there).
    use super::{split_defines, Defines};

    /// The -D list the tree's Makefile.defs computes ($(DEFS)), as the core and
    /// its modules were compiled with.
    fn tree_defines(src: &Path, out: &Path) -> Defines {
        let mk = out.join("print-defs.mk");
        std::fs::write(&mk, "uacrs-print-defs:\n\t@echo $(DEFS)\n").unwrap();
        let o = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(src)
            .arg("-f")
            .arg("Makefile")
            .arg("-f")
            .arg(&mk)
            .arg("uacrs-print-defs")
            .output()
            .expect("cannot run make in the OpenSIPS tree");
        assert!(
            o.status.success(),
            "make in the OpenSIPS tree failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        let line = text
            .lines()
            .rfind(|l| l.contains("-DVERSION="))
            .expect("the OpenSIPS Makefile printed no -D list");
        split_defines(line)
    }

    /// Expands the ver_info macros with the tree's flags and hands them to the
    /// crate (src/opensips/host/version.rs); checks the version string against
    /// what the built core prints.
    fn version_strings(src: &Path, defines: &Defines, out: &Path, manifest: &Path) {
        let probe = out.join("osips_version_probe.c");
        std::fs::write(
            &probe,
            "#include \"version.h\"\nUACRS_VERSION OPENSIPS_FULL_VERSION\n\
             UACRS_FLAGS OPENSIPS_COMPILE_FLAGS\nUACRS_SCM_TYPE VERSIONTYPE\n\
             UACRS_SCM_REV THISREVISION\n",
        )
        .unwrap();
        let mut b = cc::Build::new();
        b.file(&probe).include(src);
        for (k, v) in defines {
            b.define(k, v.as_deref());
        }
        let expanded = String::from_utf8_lossy(&b.expand()).to_string();
        let get = |tag: &str| super::expanded_string(&expanded, tag);
        let version = get("UACRS_VERSION ");
        println!("cargo:rustc-env=OSIPS_VERSION={version}");
        println!("cargo:rustc-env=OSIPS_COMPILE_FLAGS={}", get("UACRS_FLAGS "));
        println!("cargo:rustc-env=OSIPS_SCM_TYPE={}", get("UACRS_SCM_TYPE "));
        println!("cargo:rustc-env=OSIPS_SCM_REV={}", get("UACRS_SCM_REV "));
        if let Some(bin) = opensips_bin(manifest) {
            if let Ok(o) = Command::new(&bin).arg("-V").output() {
                let text = String::from_utf8_lossy(&o.stdout);
                if let Some(v) = text.lines().find_map(|l| l.strip_prefix("version: ")) {
                    assert_eq!(
                        v.trim(),
                        version,
                        "the OpenSIPS tree's version differs from {}'s",
                        bin.display()
                    );
                }
            }
        }
    }
}
