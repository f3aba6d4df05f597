//! The bundled scenarios, compiled into the binary: `ibkr-probe run` works from any folder, also
//! after `cargo install`, and uses these when there is no `scenarios/` folder to read.

/// (file name, text) of every bundled scenario, in file-name order.
pub const BUNDLED: &[(&str, &str)] = &[
    ("accounts.yaml", include_str!("../../scenarios/accounts.yaml")),
    ("auth.yaml", include_str!("../../scenarios/auth.yaml")),
    ("field-mapping.yaml", include_str!("../../scenarios/field-mapping.yaml")),
    (
        "guide-contracts.yaml",
        include_str!("../../scenarios/guide-contracts.yaml"),
    ),
    ("known-conids.yaml", include_str!("../../scenarios/known-conids.yaml")),
    (
        "mock-inactive-consumer.yaml",
        include_str!("../../scenarios/mock-inactive-consumer.yaml"),
    ),
    (
        "mock-no-bridge.yaml",
        include_str!("../../scenarios/mock-no-bridge.yaml"),
    ),
    (
        "snapshot-warmup.yaml",
        include_str!("../../scenarios/snapshot-warmup.yaml"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_scenario_is_embedded_and_loads() {
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
            .count();
        assert_eq!(BUNDLED.len(), on_disk, "a scenario file is missing from BUNDLED");
        for (name, text) in BUNDLED {
            let path = std::path::Path::new("scenarios").join(name);
            assert!(
                super::super::load::parse(&path, text, &Default::default()).is_ok(),
                "{name}"
            );
        }
    }
}
