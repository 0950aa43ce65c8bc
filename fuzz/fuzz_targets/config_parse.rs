//! Config parsing: any TOML text parses and validates to a config or a clear
//! error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use redline::config::Config;

fuzz_target!(|text: &str| {
    let path = Path::new("fuzz.toml");
    if let Ok(config) = Config::parse(text, path) {
        let _ = config.host_overrides();
        for import in &config.imports {
            let _ = config.resolve_import(import);
        }
    }
});
