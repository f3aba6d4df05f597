#!/usr/bin/env python3
"""An independent client against the ibkr-probe mock: Voyz/ibind, which signs URLs without their
query parameters and sends `Host: api.ibkr.com` while signing the mock's own address.

Reads the credential set written by `ibkr-probe keys generate DIR` (DIR/ibkr.env) and the mock's
base URL, then runs the guide's flow, ibind's read-only methods and one order placed, confirmed
and cancelled. Prints one JSON document with what it saw; exits non-zero on
any failure. Used by tests/it/ibind_interop.rs; runnable by hand against a mock started without
IBKR's pacing (ibind does not pace itself, and the script calls faster than IBKR allows):

    ibkr-probe mock --credentials DIR --no-pacing --warm-up 0
    python3 tests/interop/ibind_client.py DIR http://127.0.0.1:5000/v1/api/
"""
import json
import os
import sys


def load_env(path):
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def configure(cred_dir, base_url):
    """Points ibind at the mock through its environment variables (read at import)."""
    env = load_env(os.path.join(cred_dir, "ibkr.env"))
    with open(os.path.join(cred_dir, "mock-server.json")) as f:
        pem = json.load(f)["dh_param_pem"]
    # ibind wants the prime as hex; take it from the PKCS#3 file with the standard library only.
    import base64
    der = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))
    # SEQUENCE { INTEGER p, INTEGER g }: skip the SEQUENCE header, read the first INTEGER.
    pos = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    assert der[pos] == 0x02
    length_byte = der[pos + 1]
    if length_byte & 0x80:
        n = length_byte & 0x7F
        length = int.from_bytes(der[pos + 2 : pos + 2 + n], "big")
        start = pos + 2 + n
    else:
        length, start = length_byte, pos + 2
    prime_hex = format(int.from_bytes(der[start : start + length], "big"), "x")

    os.environ.update(
        {
            "IBIND_USE_OAUTH": "True",
            "IBIND_OAUTH1A_REST_URL": base_url,
            "IBIND_OAUTH1A_CONSUMER_KEY": env["IB_CONSUMER_KEY"],
            "IBIND_OAUTH1A_ACCESS_TOKEN": env["IB_ACCESS_TOKEN"],
            "IBIND_OAUTH1A_ACCESS_TOKEN_SECRET": env["IB_ACCESS_TOKEN_SECRET"],
            "IBIND_OAUTH1A_SIGNATURE_KEY_FP": env["IB_SIGNATURE_KEY_PATH"],
            "IBIND_OAUTH1A_ENCRYPTION_KEY_FP": env["IB_ENCRYPTION_KEY_PATH"],
            "IBIND_OAUTH1A_DH_PRIME": prime_hex,
            "IBIND_OAUTH1A_REALM": env["IB_REALM"],
            "IBIND_MAINTAIN_OAUTH": "False",
            "IBIND_AUTO_REGISTER_SHUTDOWN": "False",
            "IBIND_LOG_TO_FILE": "False",
        }
    )


def main():
    cred_dir, base_url = sys.argv[1], sys.argv[2]
    configure(cred_dir, base_url)
    from ibind import IbkrClient, OrderRequest, QuestionType  # after the environment: ibind reads it at import

    client = IbkrClient(use_oauth=True, timeout=10, max_retries=1)  # LST, validation, ssodh/init
    seen = {"lst_validated": True}
    seen["guide"] = guide_flow(client)
    seen["read_only"] = read_only_methods(client)
    seen["order_flow"] = order_flow(client, OrderRequest, QuestionType)
    print(json.dumps(seen))


def guide_flow(client):
    """The user guide's flow: accounts, ARM, its AUG25 strikes, the 143 call, its quote."""
    seen = {"accounts": client.receive_brokerage_accounts().data["accounts"]}
    seen["search_conid"] = client.search_contract_by_symbol("ARM").data[0]["conid"]
    strikes = client.search_strikes_by_conid("653400472", "OPT", "AUG25").data
    seen["has_143_call"] = 143.0 in strikes["call"]
    info = client.search_secdef_info_by_conid("653400472", "OPT", "AUG25", strike="143", right="C").data
    seen["info_conids"] = [c["conid"] for c in info]
    first = client.live_marketdata_snapshot(["804155360"], ["31", "84", "85", "86"]).data
    second = client.live_marketdata_snapshot(["804155360"], ["31", "84", "85", "86"]).data
    seen["first_snapshot_keys"] = sorted(first[0].keys())
    seen["second_snapshot"] = {k: second[0].get(k) for k in ("31", "84", "85", "86", "6509")}
    seen["tickle_authenticated"] = client.tickle().data["iserver"]["authStatus"]["authenticated"]
    return seen


def read_only_methods(client):
    """ibind's read-only methods of its session, accounts, portfolio, contract, market-data,
    order-listing and scanner mixins, each with what the answer holds (its type, or a value
    that shows it is the right data)."""
    account = "DU1234567"
    client.account_id = account
    calls = {
        # session
        "authentication_status": lambda: client.authentication_status().data["authenticated"],
        "tickle": lambda: client.tickle().data["session"] != "",
        "check_health": lambda: client.check_health(),
        "check_auth_status": lambda: client.check_auth_status(),
        # accounts
        "receive_brokerage_accounts": lambda: client.receive_brokerage_accounts().data["accounts"][0],
        "account_summary": lambda: type(client.account_summary().data["netLiquidationValue"]).__name__,
        "account_profit_and_loss": lambda: sorted(client.account_profit_and_loss().data),
        # portfolio
        "portfolio_accounts": lambda: client.portfolio_accounts().data[0]["accountId"],
        "portfolio_subaccounts": lambda: client.portfolio_subaccounts().data[0]["accountId"],
        "portfolio_account_information": lambda: client.portfolio_account_information().data["accountId"],
        "portfolio_account_allocation": lambda: sorted(client.portfolio_account_allocation().data["assetClass"]["long"]),
        "positions": lambda: sorted(p["conid"] for p in client.positions().data),
        "positions_by_conid": lambda: client.positions_by_conid(account, "653400472").data[0]["position"],
        "portfolio_summary": lambda: type(client.portfolio_summary().data["netliquidation"]["amount"]).__name__,
        "get_ledger": lambda: sorted(client.get_ledger().data),
        # contract
        "security_definition_by_conid": lambda: client.security_definition_by_conid(["265598"]).data["secdef"][0]["ticker"],
        "contract_information_by_conid": lambda: client.contract_information_by_conid("265598").data["symbol"],
        "info_and_rules_by_conid": lambda: client.info_and_rules_by_conid("265598", True).data["rules"]["orderTypes"][0],
        "search_contract_by_symbol": lambda: client.search_contract_by_symbol("AAPL").data[0]["conid"],
        "search_secdef_info_by_conid": lambda: len(client.search_secdef_info_by_conid("265598", "OPT", "JAN27", strike="230", right="C").data),
        "search_strikes_by_conid": lambda: 230.0 in client.search_strikes_by_conid("265598", "OPT", "JAN27").data["put"],
        "security_future_by_symbol": lambda: client.security_future_by_symbol("ES").data["ES"][0]["conid"],
        "security_stocks_by_symbol": lambda: client.security_stocks_by_symbol("AAPL").data["AAPL"][0]["contracts"][0]["conid"],
        "stock_conid_by_symbol": lambda: client.stock_conid_by_symbol("AAPL").data["AAPL"],
        "trading_schedule_by_symbol": lambda: client.trading_schedule_by_symbol("STK", "AAPL").data[0]["schedules"][0]["sessions"][0]["openingTime"],
        # market data
        "live_marketdata_snapshot": lambda: client.live_marketdata_snapshot(["653400472"], ["31"]).data[0]["conid"],
        "live_marketdata_snapshot_by_symbol": lambda: client.live_marketdata_snapshot_by_symbol("AAPL", ["31"])["AAPL"].get("last_price"),
        "marketdata_history_by_conid": lambda: client.marketdata_history_by_conid("265598", "1d", period="1w").data["data"][-1]["c"],
        "marketdata_history_by_symbol": lambda: client.marketdata_history_by_symbol("AAPL", "1h", period="1d").data["symbol"],
        "marketdata_history_by_conids": lambda: sorted(client.marketdata_history_by_conids(["265598", "8314"], period="1d", bar="1h")),
        "marketdata_unsubscribe": lambda: [r.data["success"] for r in client.marketdata_unsubscribe(["653400472"]).values()],
        "marketdata_unsubscribe_all": lambda: client.marketdata_unsubscribe_all().data["unsubscribed"],
        # order listing (the first live-orders call of a session is empty, as at IBKR)
        "live_orders": lambda: (client.live_orders().data["orders"], type(client.live_orders().data["orders"]).__name__)[1],
        "trades": lambda: client.trades().data,
        # scanner
        "scanner_parameters": lambda: client.scanner_parameters().data["scan_type_list"][0]["code"],
        "market_scanner": lambda: client.market_scanner("STK", "TOP_PERC_GAIN", "STK.US.MAJOR").data["scan_data_column_name"],
    }
    results = {}
    for name, call in calls.items():
        try:
            results[name] = call()
        except Exception as e:  # report every method, not just the first failure
            results[name] = {"failed": f"{type(e).__name__}: {e}"}
    return results


def order_flow(client, OrderRequest, QuestionType):
    """Place an order on a contract with no market data (IBKR asks o354 first), answer the
    question through ibind's own reply loop, find the order among live orders, cancel it."""
    order = OrderRequest(conid=8314, side="BUY", quantity=1, order_type="LMT", price=1.0, acct_id="DU1234567")
    placed = client.place_order(order, {QuestionType.MISSING_MARKET_DATA: True}).data
    order_id = placed["order_id"]
    status = client.order_status(order_id).data
    listed = client.live_orders().data["orders"]
    cancelled = client.cancel_order(order_id).data
    return {
        "placed": placed["order_status"],
        "status_side": status["side"],
        "listed": any(str(o["orderId"]) == str(order_id) for o in listed),
        "cancelled": cancelled["msg"],
        "after_cancel": client.order_status(order_id).data["order_status"],
    }


if __name__ == "__main__":
    main()
