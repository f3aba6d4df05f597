//! Contract lookups: search, `/trsrv` (stocks, secdef, futures, schedule), contract info and
//! rules. Keys and types as recorded in 2026 (`tests/data/ibkr-recorded/`, file named at each
//! function); values from the instrument table.

use serde_json::{Map, Value, json};

use super::options::OPTION_MONTHS;
use super::{ES_DEC26, ES_UNDERLYING, Instrument, Kind, stock_by_symbol};

/// ES contracts as `/trsrv/futures?symbols=ES` listed them in April 2026, in the recorded order
/// (not sorted): conid, expiration date, last trading day.
const ES_CONTRACTS: [(u64, u32, u32); 2] = [
    (515_416_632, 20_261_218, 20_261_217),
    (649_180_678, 20_260_618, 20_260_618),
];

/// Other listings search returns after the main one: (main conid, conid, exchange). SPY's
/// Mexican listing is in the 2026 search recording (`GET-iserver-secdef-search.json`); IBM's
/// London listing and bonds in IBKR's documented search example
/// (`GET-iserver-secdef-search-ibm.json`).
const OTHER_LISTINGS: [(u64, u64, &str); 2] = [(756_733, 38_709_152, "MEXI"), (8314, 41_645_598, "LSE")];

/// `GET /iserver/secdef/search?symbol=…`: an array, one row per listing; conids are strings
/// here (and integers in `/secdef/info`), as on IBKR. The main listing has its option months
/// and a CFD; other listings only their exchange; IBM also its bonds, as IBKR's example shows.
/// `ES` answers with the index and its futures months. A symbol IBKR does not know gets an
/// object, not a list (ibkr-conduit's 2026 E2E notes: it broke their array parsing; see
/// `GET-iserver-secdef-search-unknown-symbol.json`); its content is not recorded, so the mock's
/// is empty.
pub fn search(symbol: &str) -> Value {
    if symbol.eq_ignore_ascii_case(ES_DEC26.symbol) {
        return json!([{
            "conid": ES_UNDERLYING.to_string(),
            "companyHeader": format!("{} - {}", ES_DEC26.company, ES_DEC26.exchange),
            "companyName": ES_DEC26.company,
            "symbol": ES_DEC26.symbol,
            "description": ES_DEC26.exchange,
            "restricted": null,
            "sections": [
                {"secType": "IND", "exchange": "CME;"},
                {"secType": "FUT", "months": "JUN26;DEC26", "exchange": "CME;"}
            ]
        }]);
    }
    let Some(stock) = stock_by_symbol(symbol) else {
        return json!({});
    };
    let mut rows = vec![json!({
        "conid": stock.conid.to_string(),
        "companyHeader": format!("{} - {}", stock.company, stock.exchange),
        "companyName": stock.company,
        "symbol": stock.symbol,
        "description": stock.exchange,
        "restricted": null,
        "sections": [
            {"secType": "STK"},
            {"secType": "OPT", "months": OPTION_MONTHS, "exchange": "SMART;AMEX;BATS;BOX;CBOE;CBOE2;EDGX;GEMINI;ISE;MIAX;NASDAQOM;PHLX;PSE"},
            {"secType": "CFD", "exchange": "SMART", "conid": (stock.conid + 100_000_000).to_string()},
            {"secType": "BAG"}
        ]
    })];
    for (_, conid, exchange) in OTHER_LISTINGS.iter().filter(|(main, _, _)| *main == stock.conid) {
        rows.push(json!({
            "conid": conid.to_string(),
            "companyHeader": format!("{} - {exchange}", stock.company),
            "companyName": stock.company, "symbol": stock.symbol, "description": exchange, "restricted": null,
            "sections": [{"secType": "STK", "exchange": format!("{exchange};")}]
        }));
    }
    if stock.symbol == "IBM" {
        rows.push(json!({
            "bondid": 5, "conid": "2147483647", "companyHeader": "Corporate Fixed Income", "companyName": null,
            "restricted": null, "sections": [{"secType": "BOND"}],
            "issuers": [{"id": "e5499005", "name": "IBM International Capital Pte Ltd"}]
        }));
    }
    Value::Array(rows)
}

/// `GET /trsrv/stocks?symbols=…`: an object keyed by each known symbol (unknown ones are left
/// out; IBKR answers 200 either way).
pub fn trsrv_stocks(symbols: &str) -> Value {
    let mut out = Map::new();
    for stock in symbols.split(',').filter_map(|s| stock_by_symbol(s.trim())) {
        out.insert(
            stock.symbol.to_owned(),
            json!([{
                "name": stock.company,
                "chineseName": "",
                "assetClass": "STK",
                "contracts": [{"conid": stock.conid, "exchange": stock.exchange, "isUS": true}]
            }]),
        );
    }
    Value::Object(out)
}

/// `GET /trsrv/futures?symbols=…` (recording `GET-trsrv-futures.json`): keyed by symbol, dates
/// as `yyyymmdd` integers. An unknown symbol is left out (IBKR answers 200 for it).
pub fn futures(symbols: &str) -> Value {
    let mut out = Map::new();
    for symbol in symbols.split(',').map(str::trim) {
        if !symbol.eq_ignore_ascii_case(ES_DEC26.symbol) {
            continue;
        }
        let rows: Vec<Value> = ES_CONTRACTS
            .iter()
            .map(|(conid, expiry, last_day)| {
                json!({
                    "symbol": ES_DEC26.symbol, "conid": conid, "underlyingConid": ES_UNDERLYING,
                    "expirationDate": expiry, "ltd": last_day,
                    "shortFuturesCutOff": last_day, "longFuturesCutOff": last_day
                })
            })
            .collect();
        out.insert(ES_DEC26.symbol.to_owned(), Value::Array(rows));
    }
    Value::Object(out)
}

/// One `GET /trsrv/secdef?conids=…` entry (recording `GET-trsrv-secdef.json`).
pub fn trsrv_secdef(instrument: &Instrument) -> Value {
    let future = instrument.kind == Kind::Future;
    json!({
        "conid": instrument.conid, "currency": instrument.currency, "name": instrument.company,
        "assetClass": instrument.kind.sec_type(),
        "expiry": future.then_some("20261218"), "lastTradingDay": future.then_some("20261217"),
        "group": null, "putOrCall": null, "sector": null, "sectorGroup": null, "strike": "0",
        "ticker": instrument.symbol, "undConid": if future { ES_UNDERLYING } else { 0 },
        "multiplier": if future { 50.0 } else { 0.0 },
        "type": instrument.kind.type_name(), "hasOptions": matches!(instrument.kind, Kind::Stock | Kind::Etf),
        "fullName": instrument.symbol, "isUS": true, "isEventContract": false,
        "listingExchange": instrument.exchange, "countryCode": "US"
    })
}

/// `GET /iserver/contract/{conid}/info`: snake_case keys, as recorded in 2026 (the
/// documentation's field list is camelCase).
pub fn contract_info(instrument: &Instrument) -> Value {
    let future = instrument.kind == Kind::Future;
    json!({
        "cfi_code": "", "symbol": instrument.symbol, "cusip": null,
        "expiry_full": future.then_some("202612"), "con_id": instrument.conid,
        "maturity_date": future.then_some("20261218"), "instrument_type": instrument.kind.sec_type(),
        "has_related_contracts": true, "trading_class": instrument.symbol,
        "valid_exchanges": match instrument.kind {
            Kind::Stock | Kind::Etf => format!("SMART,AMEX,NYSE,CBOE,ARCA,{}", instrument.exchange),
            _ => instrument.exchange.to_owned(),
        },
        "allow_sell_long": false, "is_zero_commission_security": false, "local_symbol": instrument.symbol,
        "contract_clarification_type": null, "classifier": null, "currency": instrument.currency, "text": null,
        "underlying_con_id": if future { ES_UNDERLYING } else { 0 }, "r_t_h": true,
        "multiplier": future.then_some("50"), "underlying_issuer": null,
        "contract_month": future.then_some("202612"), "company_name": instrument.company,
        "smart_available": matches!(instrument.kind, Kind::Stock | Kind::Etf),
        "exchange": if matches!(instrument.kind, Kind::Stock | Kind::Etf) { "SMART" } else { instrument.exchange }
    })
}

/// `GET /iserver/contract/{conid}/info-and-rules` (recording
/// `GET-iserver-contract-conid-info-and-rules.json`): the info keys (`industry` and `category`
/// added) with a `rules` object; order types in lower case, time-in-force codes like `DAY/o,a`.
pub fn info_and_rules(instrument: &Instrument) -> Value {
    let mut body = contract_info(instrument);
    let increment = 10f64.powi(-(instrument.decimals as i32));
    if let Some(map) = body.as_object_mut() {
        for key in [
            "contract_clarification_type",
            "classifier",
            "text",
            "underlying_issuer",
            "contract_month",
            "multiplier",
        ] {
            map.remove(key);
        }
        map.insert("industry".into(), json!(""));
        map.insert("category".into(), json!(""));
        map.insert(
            "rules".into(),
            json!({
                "algoEligible": true, "allOrNoneEligible": true,
                "orderTypes": ["limit", "midprice", "market", "stop", "stop_limit"],
                "tifTypes": ["DAY/o,a", "GTC/o,a"],
                "defaultSize": 100, "cashSize": 0.0, "sizeIncrement": 100,
                "limitPrice": instrument.last, "stopprice": instrument.last, "preview": true,
                "cashCcy": instrument.currency, "increment": increment, "incrementDigits": instrument.decimals
            }),
        );
    }
    body
}

/// `GET /trsrv/secdef/schedule` for a stock: IBKR's documented example shape (no 200 was ever
/// recorded; see `GET-trsrv-secdef-schedule.json`): one venue, a week of schedules whose dates
/// `2000010N` stand for weekdays, regular hours 09:30-16:00 and extended 04:00-20:00 (HHMM).
pub fn schedule(instrument: &Instrument) -> Value {
    let days: Vec<Value> = (3..=7)
        .map(|day| {
            json!({
                "clearingCycleEndTime": "2000",
                "tradingScheduleDate": format!("200001{day:02}"),
                "sessions": [{"openingTime": "0930", "closingTime": "1600", "prop": "LIQUID"}],
                "tradingtimes": [{"openingTime": "0400", "closingTime": "2000", "cancelDayOrders": "Y"}]
            })
        })
        .collect();
    json!([{
        "id": format!("p{}", instrument.conid),
        "tradeVenueId": format!("v{}", instrument.exchange),
        "timezone": "America/New_York",
        "schedules": days
    }])
}

/// `GET /iserver/contract/{conid}/algos` for a stock: IBKR's documented example (cpapi-v1
/// reference, "Search Algo Params by Contract ID", read 2026-11-30); no 200 is recorded.
pub fn algos() -> Value {
    json!({"algos": [
        {"name": "Adaptive", "id": "Adaptive"},
        {"name": "Arrival Price", "id": "ArrivalPx"},
        {"name": "Close Price", "id": "ClosePx"},
        {"name": "DarkIce", "id": "DarkIce"},
        {"name": "Accumulate/Distribute", "id": "AD"},
        {"name": "TWAP", "id": "Twap"},
        {"name": "VWAP", "id": "Vwap"}
    ]})
}
