use serde_json::json;

use super::options::expiries;
use super::quotes::Stage;
use super::*;

#[test]
fn guide_contracts() {
    assert_eq!(search("arm")[0]["conid"], "653400472");
    let strikes = strikes(ARM.conid, "AUG25", true).unwrap();
    assert!(strikes["call"].as_array().unwrap().contains(&json!(143.0)));
    assert!(strikes["call"].as_array().unwrap().contains(&json!(145.0)));
    assert_eq!(
        super::strikes(ARM.conid, "AUG25", false).unwrap(),
        json!({"call": [], "put": []})
    );
    let info = info(ARM.conid, "AUG25", 143.0, Some('C')).unwrap();
    let conids: Vec<u64> = info
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conid"].as_u64().unwrap())
        .collect();
    assert!(conids.contains(&ARM_AUG25_143_C), "{info}");
    let aug22 = info
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["maturityDate"] == "20250822")
        .unwrap();
    assert_eq!(aug22["desc2"], "AUG 22 '25 143 Call");
    let info145 = super::info(ARM.conid, "AUG25", 145.0, Some('C')).unwrap();
    assert!(
        info145
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["conid"] == ARM_AUG25_145_C)
    );
}

#[test]
fn expiries_are_fridays_with_weeklies_where_they_trade() {
    // August 2025: Fridays are 1, 8, 15, 22, 29; the third is the monthly.
    let days = |weeklies| -> Vec<u32> { expiries(2025, 8, weeklies).into_iter().map(|(_, d)| d).collect() };
    assert_eq!(days(true), [1, 8, 15, 22, 29]);
    assert_eq!(days(false), [15]);
    let days: Vec<u32> = expiries(2026, 11, true).into_iter().map(|(_, d)| d).collect();
    assert_eq!(days, [6, 13, 20, 27]);
}

/// Every place an instrument appears names it the same way and quotes it at one price level.
#[test]
fn one_universe() {
    let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_507_200);
    for instrument in &INSTRUMENTS {
        let quote = quote(instrument.conid).unwrap();
        assert_eq!(quote.symbol, instrument.symbol);
        assert!(
            (quote.bid - instrument.last).abs() / instrument.last < 0.001,
            "{}",
            instrument.symbol
        );
        let secdef = trsrv_secdef(instrument);
        assert_eq!(secdef["conid"], json!(instrument.conid));
        assert_eq!(secdef["name"], json!(instrument.company));
        assert_eq!(contract_info(instrument)["con_id"], json!(instrument.conid));
        let bars = history(instrument, "1w", "1d", false, now).unwrap();
        assert_eq!(
            bars["data"].as_array().unwrap().last().unwrap()["c"],
            json!(instrument.last)
        );
        if matches!(instrument.kind, Kind::Stock | Kind::Etf) {
            assert_eq!(
                search(instrument.symbol)[0]["conid"],
                json!(instrument.conid.to_string())
            );
            let stocks = trsrv_stocks(instrument.symbol);
            assert_eq!(
                stocks[instrument.symbol][0]["contracts"][0]["conid"],
                json!(instrument.conid)
            );
        }
    }
    assert_eq!(futures("ES")["ES"][0]["conid"], json!(ES_DEC26.conid));
    assert_eq!(search("ES")[0]["conid"], json!(ES_UNDERLYING.to_string()));
}

/// Option conids decode to the contract `info` listed, and nothing else decodes.
#[test]
fn option_conids_name_their_contract() {
    let listed = info(ARM.conid, "SEP26", 145.0, None).unwrap();
    for row in listed.as_array().unwrap() {
        let conid = row["conid"].as_u64().unwrap();
        let option = option_by_conid(conid).unwrap_or_else(|| panic!("{row}"));
        assert_eq!(option.strike, 145.0);
        assert_eq!(option.expiry.to_string(), row["maturityDate"].as_str().unwrap());
        assert_eq!(option.right.to_string(), row["right"].as_str().unwrap());
        assert_eq!(option.description(), row["desc2"].as_str().unwrap());
    }
    let guide = option_by_conid(ARM_AUG25_143_C).unwrap();
    assert_eq!((guide.expiry, guide.strike, guide.right), (20_250_822, 143.0, 'C'));
    for unknown in [0, 1, 999_999_999, 700_000_001, 812_345_678] {
        assert!(Contract::by_conid(unknown).is_none(), "{unknown}");
        assert!(quote(unknown).is_none());
    }
    let price = quote(ARM_AUG25_143_C).unwrap();
    assert!(price.ask < 5.0 && price.ask_size == 598, "{price:?}");
}

#[test]
fn formats_like_ibkr() {
    assert_eq!(abbreviate(25_512_300), "25.5M");
    assert_eq!(abbreviate(1_234), "1.2K");
    assert_eq!(abbreviate(999), "999");
    assert_eq!(with_separators(1300), "1,300");
    assert_eq!(with_separators(598), "598");
    assert_eq!(with_separators(1_234_567), "1,234,567");
    assert_eq!(parse_month("AUG25"), Some((2025, 8)));
    assert_eq!(parse_month("XYZ25"), None);
}

#[test]
fn snapshot_warm_up() {
    let fields = vec!["31".to_owned(), "84".to_owned(), "85".to_owned(), "86".to_owned()];
    let cold = snapshot_entry(ARM_AUG25_143_C, &fields, Stage::PreFlight, 0);
    assert_eq!(cold.as_object().unwrap().len(), 2);
    let partial = snapshot_entry(ARM_AUG25_143_C, &fields, Stage::Partial, 1);
    assert_eq!(partial["6509"], "DPB");
    assert_eq!(partial["6119"], "q0");
    assert!(partial.get("31").is_none(), "{partial}");
    let warm = snapshot_entry(ARM_AUG25_143_C, &fields, Stage::Full, 1);
    let ask: f64 = warm["86"].as_str().unwrap().parse().unwrap();
    let ask_size: f64 = warm["85"].as_str().unwrap().parse().unwrap();
    assert!(ask < 5.0 && ask_size >= 100.0, "{warm}");
}
