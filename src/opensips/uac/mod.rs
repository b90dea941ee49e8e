//! The OpenSIPS `uac` module (not built yet).
