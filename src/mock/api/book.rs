//! The account's holdings and cash: the starting book plus every simulated fill, valued at the
//! mock's prices. Accounts, portfolio, P&L and what-if all read it, so they agree.

use crate::mock::data::{self, Contract};
use crate::mock::state::OrderBook;

/// The starting book: (conid, quantity, average cost). Prices come from the snapshot's quotes.
const START: [(u64, f64, f64); 3] = [
    (653_400_472, 100.0, 120.0),
    (265_598, 50.0, 190.0),
    (756_733, 10.0, 600.0),
];

/// Cash in USD before any fill.
const START_CASH: f64 = 100_000.0;

/// One position.
pub(super) struct Holding {
    pub contract: Contract,
    pub conid: u64,
    pub quantity: f64,
    /// Average cost per unit; it changes only when the position grows.
    pub average: f64,
    /// Profit booked by reducing the position.
    pub realized: f64,
}

impl Holding {
    fn last(&self) -> f64 {
        data::quote(self.conid).map_or(self.average, |q| q.last)
    }

    pub fn price(&self) -> f64 {
        self.last()
    }

    pub fn value(&self) -> f64 {
        self.quantity * self.last() * self.contract.multiplier()
    }

    pub fn unrealized(&self) -> f64 {
        self.quantity * (self.last() - self.average) * self.contract.multiplier()
    }

    /// Applies a fill of `quantity` (signed) at `price`.
    fn fill(&mut self, quantity: f64, price: f64) {
        let growing = self.quantity == 0.0 || self.quantity.signum() == quantity.signum();
        if growing {
            self.average = (self.quantity * self.average + quantity * price) / (self.quantity + quantity);
        } else {
            let closed = quantity.abs().min(self.quantity.abs()) * self.quantity.signum();
            self.realized += closed * (price - self.average) * self.contract.multiplier();
            if quantity.abs() > self.quantity.abs() {
                // The position flipped: what is left was opened at this price.
                self.average = price;
            }
        }
        self.quantity += quantity;
    }
}

/// Cash and positions now.
pub(super) struct Book {
    pub cash: f64,
    pub holdings: Vec<Holding>,
}

impl Book {
    pub fn of(orders: &OrderBook) -> Self {
        let mut cash = START_CASH;
        let mut holdings: Vec<Holding> = START
            .iter()
            .filter_map(|(conid, quantity, average)| {
                Contract::by_conid(*conid).map(|contract| Holding {
                    contract,
                    conid: *conid,
                    quantity: *quantity,
                    average: *average,
                    realized: 0.0,
                })
            })
            .collect();
        for (conid, quantity, price) in orders.fills() {
            let Some(contract) = Contract::by_conid(conid) else {
                continue;
            };
            cash -= quantity * price * contract.multiplier();
            match holdings.iter_mut().find(|h| h.conid == conid) {
                Some(holding) => holding.fill(quantity, price),
                None => holdings.push(Holding {
                    contract,
                    conid,
                    quantity,
                    average: price,
                    realized: 0.0,
                }),
            }
        }
        holdings.retain(|h| h.quantity != 0.0);
        Self { cash, holdings }
    }

    /// The positions' market value.
    pub fn positions_value(&self) -> f64 {
        self.holdings.iter().map(Holding::value).sum()
    }

    pub fn unrealized(&self) -> f64 {
        self.holdings.iter().map(Holding::unrealized).sum()
    }

    pub fn net_liquidation(&self) -> f64 {
        self.cash + self.positions_value()
    }

    /// Margin and buying power by the mock's simple rules (IBKR's depend on the product and
    /// the account): 25% initial and 20% maintenance margin on positions, buying power 4× cash.
    pub fn initial_margin(&self) -> f64 {
        0.25 * self.positions_value().abs()
    }

    pub fn maintenance_margin(&self) -> f64 {
        0.2 * self.positions_value().abs()
    }

    pub fn buying_power(&self) -> f64 {
        4.0 * self.cash
    }

    /// The position in a conid, signed; 0 when there is none.
    pub fn position(&self, conid: u64) -> f64 {
        self.holdings
            .iter()
            .find(|h| h.conid == conid)
            .map_or(0.0, |h| h.quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(quantity: f64, average: f64) -> Holding {
        Holding {
            contract: Contract::by_conid(653_400_472).unwrap(),
            conid: 653_400_472,
            quantity,
            average,
            realized: 0.0,
        }
    }

    #[test]
    fn a_partial_sell_keeps_the_average_and_books_the_gain() {
        let mut h = holding(100.0, 120.0);
        h.fill(-50.0, 141.36);
        assert_eq!((h.quantity, h.average), (50.0, 120.0));
        assert!((h.realized - 50.0 * 21.36).abs() < 1e-9);
        h.fill(50.0, 130.0);
        assert_eq!((h.quantity, h.average), (100.0, 125.0));
        h.fill(-150.0, 140.0);
        assert_eq!(
            (h.quantity, h.average),
            (-50.0, 140.0),
            "flipped short at the fill price"
        );
    }

    #[test]
    fn options_count_with_their_multiplier() {
        let mut orders = OrderBook::default();
        let book = Book::of(&orders);
        let before = (book.cash, book.net_liquidation());
        let option = data::ARM_AUG25_143_C;
        let price = data::quote(option).unwrap().ask;
        orders.orders.push(crate::mock::state::Order {
            id: 1,
            ticket: crate::mock::state::OrderTicket {
                conid: option,
                buy: true,
                quantity: 1.0,
                order_type: crate::mock::state::OrderType::Market,
                price: None,
                tif: "DAY".into(),
                outside_rth: false,
                client_id: None,
            },
            status: crate::mock::state::OrderStatus::Filled,
            placed: std::time::SystemTime::UNIX_EPOCH,
            fill: Some(price),
        });
        let book = Book::of(&orders);
        assert!(
            (before.0 - book.cash - 100.0 * price).abs() < 1e-9,
            "cash pays 100 x the price"
        );
        assert_eq!(book.position(option), 1.0);
        let spread = 100.0 * (price - data::quote(option).unwrap().last);
        assert!(
            (before.1 - book.net_liquidation() - spread).abs() < 1e-6,
            "only the spread is lost"
        );
    }
}
