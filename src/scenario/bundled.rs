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
    ("history.yaml", include_str!("../../scenarios/history.yaml")),
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
        "mock-order-flow.yaml",
        include_str!("../../scenarios/mock-order-flow.yaml"),
    ),
    ("order-listing.yaml", include_str!("../../scenarios/order-listing.yaml")),
    ("portfolio.yaml", include_str!("../../scenarios/portfolio.yaml")),
    (
        "snapshot-warmup.yaml",
        include_str!("../../scenarios/snapshot-warmup.yaml"),
    ),
    (
        "streaming-orders.yaml",
        include_str!("../../scenarios/streaming-orders.yaml"),
    ),
    ("streaming.yaml", include_str!("../../scenarios/streaming.yaml")),
];

/// (path under `scenarios/`, text) of the files bundled scenarios `use`.
pub const FRAGMENTS: &[(&str, &str)] = &[("setup/session.yaml", include_str!("../../scenarios/setup/session.yaml"))];

/// Reads a bundled fragment by its path (`scenarios/setup/session.yaml`), as `use:` names it.
pub fn read(path: &std::path::Path) -> std::io::Result<String> {
    let wanted = path.strip_prefix("scenarios").unwrap_or(path);
    FRAGMENTS
        .iter()
        .find(|(name, _)| std::path::Path::new(name) == wanted)
        .map(|(_, text)| (*text).to_owned())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not among the bundled files"))
}

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
        let fragments = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/setup"))
            .unwrap()
            .count();
        assert_eq!(
            FRAGMENTS.len(),
            fragments,
            "a shared-steps file is missing from FRAGMENTS"
        );
        for (name, text) in BUNDLED {
            let path = std::path::Path::new("scenarios").join(name);
            assert!(
                super::super::load::parse_with(&path, text, &Default::default(), &read).is_ok(),
                "{name}"
            );
        }
    }
}
