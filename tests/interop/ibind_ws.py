#!/usr/bin/env python3
"""ibind's own websocket client (IbkrWsClient, OAuth) against the ibkr-probe mock: it connects
with the access token and the /tickle session cookie, subscribes to market data for AAPL
(265598) and waits for updates, then to live orders, places an order through ibind's REST
client and waits for it on the stream. Prints one JSON document of what it saw; exits non-zero on
failure. Used by tests/it/ibind_interop.rs; by hand:

    ibkr-probe mock --credentials DIR --no-pacing --warm-up 0
    python3 tests/interop/ibind_ws.py DIR http://127.0.0.1:5000/v1/api/
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibind_client import configure  # noqa: E402


def main():
    cred_dir, base_url = sys.argv[1], sys.argv[2]
    configure(cred_dir, base_url)
    from ibind import IbkrClient, OrderRequest, QuestionType
    from ibind.ibkr_ws.ibkr_events import MarketData, Orders
    from ibind.ibkr_ws.ibkr_subscriptions import MarketDataSubscription, OrdersSubscription
    from ibind.ibkr_ws.ibkr_ws_client import IbkrWsClient
    from ibind.ws.ws_sinks import QueueSink

    client = IbkrClient(use_oauth=True, timeout=10, max_retries=1)  # LST, validation, ssodh/init
    client.receive_brokerage_accounts()
    sink = QueueSink()
    updates = sink.new_queue_accessor(MarketData)
    order_updates = sink.new_queue_accessor(Orders)
    ws = IbkrWsClient(
        ibkr_client=client,
        use_oauth=True,
        url=base_url.replace("http://", "ws://", 1).rstrip("/") + "/ws",
        access_token=os.environ["IBIND_OAUTH1A_ACCESS_TOKEN"],
        sink=sink,
    )
    seen = {"started": ws.start()}
    deadline = time.time() + 10
    while not ws.is_ready() and time.time() < deadline:
        time.sleep(0.05)
    seen["ready"] = ws.is_ready()
    handle = ws.subscribe(MarketDataSubscription(conid="265598", fields=["31", "84", "86"]))
    received = []
    while len(received) < 2 and time.time() < deadline:
        event = updates.get(block=True, timeout=1)  # None when nothing came within 1 s
        if event is not None:
            received.append(event)
    seen["updates"] = len(received)
    seen["first"] = {k: str(v) for k, v in vars(received[0]).items()} if received else None
    seen["active"] = handle.active  # ibind's own view: the subscription was confirmed

    ws.subscribe(OrdersSubscription())
    time.sleep(0.3)  # ibind sends the subscription from its own thread
    order = OrderRequest(conid=265598, side="BUY", quantity=1, order_type="LMT", price=1.0, acct_id="DU1234567")
    placed = client.place_order(order, {QuestionType.MISSING_MARKET_DATA: True}, account_id="DU1234567").data
    seen["placed"] = str(placed["order_id"])
    orders = []
    # By hand against `ibkr-probe mock` (heartbeats 10 s apart) ibind has delivered the order
    # event only after the next heartbeat; the test's mock beats every 300 ms.
    deadline = time.time() + 25
    while not orders and time.time() < deadline:
        event = order_updates.get(block=True, timeout=1)
        if event is not None:
            orders.append(event)
    seen["order_event"] = {k: str(v) for k, v in vars(orders[0]).items()} if orders else None
    ws.shutdown()
    print(json.dumps(seen))
    if not (seen["ready"] and len(received) >= 2 and orders):
        sys.exit(1)


if __name__ == "__main__":
    main()
