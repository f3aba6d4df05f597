//! What the mock remembers, in one place: the account (orders and fills, and the pacing IBKR
//! applies to the consumer), and per access token the OAuth session with, within it, the
//! brokerage session's market-data subscriptions and open confirmation questions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use crate::oauth::LiveSessionToken;

/// One access token's server-side state.
pub(super) struct Session {
    pub token: LiveSessionToken,
    pub expires: SystemTime,
    pub buggy_variants: Vec<(crate::oauth::mistakes::Mistake, crate::oauth::SecretBytes)>,
    /// `Some` once `ssodh/init` opened the brokerage session.
    pub brokerage: Option<Brokerage>,
    /// Another login took the brokerage session (the `competing` fault); `ssodh/init` takes it back.
    pub competing: bool,
    pub last_request: SystemTime,
    pub session_id: String,
}

/// What outlives any session: the account's orders and fills survive a new live session token
/// (a bot restart) and IBKR's restarts, and pacing, like IBKR's penalty box, is not escaped by
/// logging in again.
#[derive(Default)]
pub(super) struct Account {
    pub orders: OrderBook,
    pub pacing: Pacing,
}

impl Session {
    pub fn new(token: LiveSessionToken, now: SystemTime, expires: SystemTime, session_id: String) -> Self {
        Self {
            token,
            expires,
            buggy_variants: Vec::new(),
            brokerage: None,
            competing: false,
            last_request: now,
            session_id,
        }
    }
}

/// The brokerage (iserver) session and what IBKR remembers within it.
#[derive(Default)]
pub(super) struct Brokerage {
    pub accounts_called: bool,
    pub searched: HashSet<u64>,
    /// Conids with a market-data subscription.
    pub subscribed: HashMap<u64, Subscription>,
    /// Confirmation questions waiting for `/iserver/reply/{id}`, with the orders they hold.
    pub questions: HashMap<String, Vec<OrderTicket>>,
    /// Whether `/iserver/account/orders` was called in this session (the first call is empty).
    pub orders_listed: bool,
    /// Whether P&L was asked for in this session (the first answer is empty).
    pub pnl_asked: bool,
    /// Questions asked so far in this session: reply ids are never reused.
    pub questions_asked: u64,
}

/// A market-data subscription: the fields asked for so far and when it began.
pub(super) struct Subscription {
    pub fields: Vec<String>,
    pub since: SystemTime,
}

/// Requests per session: a one-second window, the last call of each paced endpoint, and the
/// penalty box.
#[derive(Default)]
pub(super) struct Pacing {
    pub recent: VecDeque<SystemTime>,
    pub last_call: HashMap<&'static str, SystemTime>,
    pub boxed_until: Option<SystemTime>,
}

/// An order as a client asked for it (after validation).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OrderTicket {
    pub conid: u64,
    pub buy: bool,
    pub quantity: f64,
    pub order_type: OrderType,
    pub price: Option<f64>,
    pub tif: String,
    pub outside_rth: bool,
    pub client_id: Option<String>,
}

/// The order types IBKR's order body accepts (`orderType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderType {
    Limit,
    Market,
    Stop,
    StopLimit,
    Midprice,
    Trail,
    TrailLimit,
}

impl OrderType {
    pub const ALL: [(&'static str, OrderType); 7] = [
        ("LMT", OrderType::Limit),
        ("MKT", OrderType::Market),
        ("STP", OrderType::Stop),
        ("STOP_LIMIT", OrderType::StopLimit),
        ("MIDPRICE", OrderType::Midprice),
        ("TRAIL", OrderType::Trail),
        ("TRAILLMT", OrderType::TrailLimit),
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(name, _)| *name == text).map(|(_, t)| *t)
    }

    /// The name in order listings: `Limit`, `Market`, …
    pub fn display(self) -> &'static str {
        match self {
            OrderType::Limit => "Limit",
            OrderType::Market => "Market",
            OrderType::Stop => "Stop",
            OrderType::StopLimit => "Stop Limit",
            OrderType::Midprice => "Midprice",
            OrderType::Trail => "Trail",
            OrderType::TrailLimit => "Trail Limit",
        }
    }

    /// The name in order status and `origOrderType`: `LIMIT`, `STOP_LIMIT`, …
    pub fn status_name(self) -> String {
        self.display().to_ascii_uppercase().replace(' ', "_")
    }

    pub fn needs_price(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLimit | OrderType::TrailLimit)
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderStatus {
    PreSubmitted,
    Filled,
    Cancelled,
}

impl OrderStatus {
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::PreSubmitted => "PreSubmitted",
            OrderStatus::Filled => "Filled",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    pub fn working(self) -> bool {
        self == OrderStatus::PreSubmitted
    }
}

/// A placed order.
#[derive(Debug, Clone)]
pub(super) struct Order {
    pub id: u64,
    pub ticket: OrderTicket,
    pub status: OrderStatus,
    pub placed: SystemTime,
    /// Fill price, once filled.
    pub fill: Option<f64>,
}

/// The account's orders, in the order they were placed.
#[derive(Default)]
pub(super) struct OrderBook {
    pub orders: Vec<Order>,
}

impl OrderBook {
    /// IBKR's order ids are 9-10 digit numbers, growing.
    const FIRST_ID: u64 = 1_234_567_890;

    pub fn next_id(&self) -> u64 {
        Self::FIRST_ID + self.orders.len() as u64
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut Order> {
        self.orders.iter_mut().find(|o| o.id == id)
    }

    pub fn get(&self, id: u64) -> Option<&Order> {
        self.orders.iter().find(|o| o.id == id)
    }

    /// Fills in the order they happened: conid, signed quantity (buys positive), price.
    pub fn fills(&self) -> impl Iterator<Item = (u64, f64, f64)> + '_ {
        self.orders.iter().filter_map(|o| {
            let price = o.fill?;
            let quantity = if o.ticket.buy {
                o.ticket.quantity
            } else {
                -o.ticket.quantity
            };
            Some((o.ticket.conid, quantity, price))
        })
    }
}

/// How long after subscribing a conid's prices arrive (`MockConfig::warm_up`).
pub(super) fn stage(
    subscription: Option<&Subscription>,
    now: SystemTime,
    warm_up: Duration,
) -> crate::mock::data::Stage {
    use crate::mock::data::Stage;
    match subscription {
        None => Stage::PreFlight,
        Some(s) if now.duration_since(s.since).unwrap_or_default() < warm_up => Stage::Partial,
        Some(_) => Stage::Full,
    }
}
