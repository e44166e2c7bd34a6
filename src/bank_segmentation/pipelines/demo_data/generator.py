"""Synthetic demo portfolio with the schema of the public "CC GENERAL" credit-card table.

Every customer belongs to one planted persona. A persona is a recipe (``PERSONAS`` below) for how
a customer uses the card month by month: which channels (one-off purchases, installment purchases,
cash advances) are used at all, in how many months of the tenure, how many transactions an active
month holds, ticket sizes, credit limit, balance, payments and how often the bill is paid in full.

Customers are simulated on a monthly grid, so the derived columns keep the real table's logic:
frequencies are ``active months / TENURE``, counts and amounts are zero together, and
``PURCHASES == ONEOFF_PURCHASES + INSTALLMENTS_PURCHASES``. The calibration constants were tuned by
hand against summary statistics (quantiles, zero shares, correlations) of the real table; no row
of it is used.

Persona labels:
    transactor          buys often (one-off and installment), no cash advance, pays in full.
    revolver            high balance, rarely pays in full, few purchases, some cash advances.
    installment_buyer   regular installment purchases only, no one-off, no cash advance.
    oneoff_buyer        one-off purchases only, no installments, no cash advance.
    cash_advance_heavy  never purchases, lives on cash advances, high balance.
    dormant             balance rarely updated and tiny, a purchase or two a year, some pay nothing.
    new_customer        tenure of 6-11 months, small limits, cash advances, some purchases.
    affluent            (~1.5%) very high limits and spend, both purchase types, pays in full.
    all_rounder         uses everything: one-off and installment purchases and cash advances.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

COLUMNS = (
    "CUST_ID",
    "BALANCE",
    "BALANCE_FREQUENCY",
    "PURCHASES",
    "ONEOFF_PURCHASES",
    "INSTALLMENTS_PURCHASES",
    "CASH_ADVANCE",
    "PURCHASES_FREQUENCY",
    "ONEOFF_PURCHASES_FREQUENCY",
    "PURCHASES_INSTALLMENTS_FREQUENCY",
    "CASH_ADVANCE_FREQUENCY",
    "CASH_ADVANCE_TRX",
    "PURCHASES_TRX",
    "CREDIT_LIMIT",
    "PAYMENTS",
    "MINIMUM_PAYMENTS",
    "PRC_FULL_PAYMENT",
    "TENURE",
)
PERSONA_COLUMN = "PERSONA"
MONTHS = 12
DECIMALS = 6  # the real file carries 6 decimals
CENTS = 2  # ... except purchase amounts, which are whole cents
PURCHASE_CHANNELS = ("oneoff", "installment")
MAX_LIMIT = 30000.0  # the largest credit limit the real table shows
ID_DIGITS = 6

# Tenure of new customers: 6..11 months, weighted like the real table's short tenures.
NEW_TENURES = np.arange(6, 12)
NEW_TENURE_WEIGHTS = np.array([204, 190, 196, 175, 236, 365], dtype=float)

# Share of rows whose MINIMUM_PAYMENTS is missing although they paid something (real table: 0.8%);
# rows with PAYMENTS == 0 always miss it. One CREDIT_LIMIT in this many rows is missing (min 1).
EXTRA_MISSING_MIN_PAYMENTS = 0.008
ROWS_PER_MISSING_LIMIT = 8950
# Cash advances are repaid more slowly than purchases (they keep accruing interest as balance).
CASH_REPAID = 0.6
# Sigma of a per-customer spending scale shared by all channels: big spenders are big everywhere.
SPEND_SCALE_SIGMA = 0.4
# Sigma of the noise, in months, around a customer's expected number of active months.
MONTH_JITTER = 0.7


@dataclass(frozen=True)
class Channel:
    """How a spending channel is used: P(used), monthly activity, transactions, ticket size."""

    use: float  # probability the customer uses the channel at all
    activity: tuple[float, float]  # Beta(a, b) of the share of tenure months with activity
    extra_trx: tuple[float, float]  # lognormal (median, sigma) of extra trx per active month
    ticket: tuple[float, float]  # lognormal (median, sigma) of the customer's typical ticket
    limit_elasticity: float = 0.5  # tickets grow as (limit / persona median limit) ** elasticity


@dataclass(frozen=True)
class Persona:
    """Calibration of one persona; distributions are (median, sigma) lognormals or Beta(a, b)."""

    oneoff: Channel
    installment: Channel
    cash: Channel
    limit: tuple[float, float]  # lognormal credit limit
    utilisation: tuple[float, float]  # Beta share of the limit carried as balance
    balance_activity: tuple[float, float]  # Beta per-month probability the balance is updated
    full_pay: tuple[float, float, float]  # P(ever pays in full), Beta of the share of such months
    pay_ratio: tuple[float, float]  # lognormal share of purchases + cash advances paid back
    balance_paid: float  # share of the balance paid on top
    zero_pay: float  # probability of paying nothing at all
    short_tenure: bool = False  # tenure 6..11 months instead of 12


NONE = Channel(0.0, (1.0, 1.0), (0.5, 0.5), (100.0, 1.0))  # a channel the persona never uses

PERSONAS: dict[str, Persona] = {
    "transactor": Persona(
        oneoff=Channel(1.0, (1.2, 1.5), (0.3, 1.6), (90.0, 0.6), 0.5),
        installment=Channel(1.0, (3.0, 0.5), (0.3, 1.3), (45.0, 0.5), 0.35),
        cash=NONE,
        limit=(5000.0, 0.55),
        utilisation=(1.0, 8.0),
        balance_activity=(2.0, 0.3),
        full_pay=(0.9, 3.0, 0.7),
        pay_ratio=(0.67, 0.8),
        balance_paid=0.15,
        zero_pay=0.0,
    ),
    "revolver": Persona(
        oneoff=Channel(0.95, (0.8, 6.0), (0.3, 0.8), (140.0, 0.8), 0.5),
        installment=Channel(0.1, (0.8, 4.0), (0.3, 0.8), (70.0, 0.8), 0.35),
        cash=Channel(0.7, (0.8, 5.0), (0.3, 0.8), (170.0, 0.8), 1.0),
        limit=(7000.0, 0.55),
        utilisation=(4.0, 3.5),
        balance_activity=(3.0, 0.05),
        full_pay=(0.03, 1.0, 4.0),
        pay_ratio=(0.5, 0.8),
        balance_paid=0.1,
        zero_pay=0.01,
    ),
    "installment_buyer": Persona(
        oneoff=NONE,
        installment=Channel(1.0, (3.0, 0.4), (0.3, 1.3), (35.0, 0.5), 0.35),
        cash=NONE,
        limit=(1800.0, 0.55),
        utilisation=(0.4, 8.0),
        balance_activity=(2.0, 0.3),
        full_pay=(0.5, 1.0, 2.0),
        pay_ratio=(0.67, 0.8),
        balance_paid=0.1,
        zero_pay=0.0,
    ),
    "oneoff_buyer": Persona(
        oneoff=Channel(1.0, (0.8, 1.5), (0.4, 1.3), (120.0, 0.6), 0.5),
        installment=NONE,
        cash=NONE,
        limit=(2500.0, 0.55),
        utilisation=(0.6, 4.0),
        balance_activity=(2.0, 0.4),
        full_pay=(0.4, 1.0, 2.0),
        pay_ratio=(0.67, 0.8),
        balance_paid=0.1,
        zero_pay=0.0,
    ),
    "cash_advance_heavy": Persona(
        oneoff=NONE,
        installment=NONE,
        cash=Channel(1.0, (3.0, 5.0), (0.8, 0.6), (300.0, 0.65), 1.0),
        limit=(4000.0, 0.5),
        utilisation=(2.5, 2.5),
        balance_activity=(3.0, 0.1),
        full_pay=(0.15, 1.0, 5.0),
        pay_ratio=(0.5, 0.5),
        balance_paid=0.075,
        zero_pay=0.01,
    ),
    "dormant": Persona(
        oneoff=Channel(0.65, (0.3, 8.0), (0.2, 0.6), (90.0, 1.0), 0.3),
        installment=Channel(0.3, (0.3, 8.0), (0.2, 0.6), (70.0, 0.8), 0.3),
        cash=NONE,
        limit=(1800.0, 0.6),
        utilisation=(0.5, 40.0),
        balance_activity=(1.2, 3.0),
        full_pay=(0.35, 1.0, 1.5),
        pay_ratio=(1.68, 0.8),
        balance_paid=0.0,
        zero_pay=0.3,
    ),
    "new_customer": Persona(
        oneoff=Channel(0.35, (1.0, 2.0), (0.4, 0.8), (100.0, 0.8), 0.5),
        installment=Channel(0.8, (1.0, 2.0), (0.4, 0.8), (45.0, 0.5), 0.35),
        cash=Channel(1.0, (1.0, 4.0), (0.4, 0.8), (250.0, 0.8), 1.0),
        limit=(1500.0, 0.55),
        utilisation=(1.5, 2.5),
        balance_activity=(2.0, 0.4),
        full_pay=(0.3, 1.2, 2.0),
        pay_ratio=(0.59, 0.8),
        balance_paid=0.1,
        zero_pay=0.01,
        short_tenure=True,
    ),
    "affluent": Persona(
        oneoff=Channel(1.0, (3.0, 1.0), (1.0, 0.6), (300.0, 0.6), 0.5),
        installment=Channel(1.0, (3.0, 1.0), (1.0, 0.6), (150.0, 0.6), 0.35),
        cash=Channel(0.3, (0.8, 4.0), (0.3, 0.6), (1500.0, 0.8), 0.8),
        limit=(14000.0, 0.3),
        utilisation=(1.0, 6.0),
        balance_activity=(3.0, 0.05),
        full_pay=(0.8, 2.0, 1.5),
        pay_ratio=(0.76, 0.4),
        balance_paid=0.15,
        zero_pay=0.0,
    ),
    "all_rounder": Persona(
        oneoff=Channel(1.0, (1.5, 1.5), (0.5, 1.5), (110.0, 0.6), 0.5),
        installment=Channel(1.0, (3.0, 0.6), (0.5, 1.3), (45.0, 0.5), 0.35),
        cash=Channel(1.0, (1.2, 3.5), (0.4, 0.8), (280.0, 0.8), 1.0),
        limit=(7500.0, 0.55),
        utilisation=(2.0, 4.0),
        balance_activity=(3.0, 0.05),
        full_pay=(0.15, 1.0, 3.0),
        pay_ratio=(0.59, 0.8),
        balance_paid=0.1,
        zero_pay=0.0,
    ),
}
PERSONA_NAMES = tuple(PERSONAS)
_NEW_CUSTOMER = next(name for name, persona in PERSONAS.items() if persona.short_tenure)


def generate_portfolio(
    n_customers: int,
    seed: int,
    persona_shares: Mapping[str, float] | None = None,
    id_prefix: str = "D",
    id_start: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate (customers in the CC GENERAL schema, their personas), deterministic per seed.

    ``persona_shares`` maps persona labels to weights (normalised to sum 1); ``None`` mixes all
    personas equally. The calibrated realistic mix lives in ``conf/base/parameters_demo_data.yml``.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(_persona_labels(n_customers, _normalise_shares(persona_shares)))
    columns = _simulate(rng, labels)
    numbers = range(id_start, id_start + n_customers)
    ids = [f"{id_prefix}{number:0{ID_DIGITS}d}" for number in numbers]
    customers = pd.DataFrame({"CUST_ID": ids, **columns}, columns=list(COLUMNS))
    personas = pd.DataFrame({"CUST_ID": ids, PERSONA_COLUMN: labels})
    logger.info("Generated %d demo customers (seed %d, ids from %s)", n_customers, seed, ids[0])
    return customers, personas


def _normalise_shares(shares: Mapping[str, float] | None) -> dict[str, float]:
    """Validate persona weights and scale them to sum 1; ``None`` gives equal shares."""
    if shares is None:
        return {name: 1.0 / len(PERSONAS) for name in PERSONAS}
    unknown = set(shares) - set(PERSONAS)
    if unknown:
        raise ValueError(f"unknown persona(s) {sorted(unknown)}; known: {list(PERSONAS)}")
    if any(weight < 0 for weight in shares.values()) or sum(shares.values()) <= 0:
        raise ValueError(f"persona shares must be >= 0 and not all zero, got {dict(shares)}")
    total = float(sum(shares.values()))
    return {name: float(shares.get(name, 0.0)) / total for name in PERSONAS}


def _persona_labels(n: int, shares: Mapping[str, float]) -> np.ndarray:
    """Exactly n labels split by largest remainders, so shares hold without sampling noise."""
    names = list(shares)
    quotas = np.array([shares[name] for name in names]) * n
    counts = np.floor(quotas).astype(int)
    remainder_order = np.argsort(-(quotas - counts), kind="stable")
    counts[remainder_order[: n - counts.sum()]] += 1
    return np.repeat(np.array(names, dtype=object), counts)


def _param(labels: np.ndarray, pick: Callable[[Persona], float]) -> np.ndarray:
    """Per-customer array of one persona calibration value chosen by ``pick``."""
    table = {name: pick(persona) for name, persona in PERSONAS.items()}
    return np.array([table[label] for label in labels], dtype=float)


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Lognormal draws with the given medians and log-sigmas, truncated at 3 sigmas."""
    # Truncation keeps the products of several lognormals from producing absurd outliers.
    return median * np.exp(sigma * np.clip(rng.standard_normal(median.shape), -3.0, 3.0))


def _persona_lognormal(
    rng: np.random.Generator, labels: np.ndarray, pick: Callable[[Persona], tuple[float, ...]]
) -> np.ndarray:
    """Per-customer lognormal draws with persona parameters ``pick(persona) -> (median, sigma)``."""
    return _lognormal(rng, _param(labels, lambda p: pick(p)[0]), _param(labels, lambda p: pick(p)[1]))


def _beta(rng: np.random.Generator, labels: np.ndarray, pick: Callable[[Persona], tuple[float, ...]]) -> np.ndarray:
    """Per-customer Beta draws with persona parameters ``pick(persona) -> (a, b)``."""
    return rng.beta(_param(labels, lambda p: pick(p)[0]), _param(labels, lambda p: pick(p)[1]))


def _channel(
    rng: np.random.Generator,
    labels: np.ndarray,
    tenure: np.ndarray,
    limit_ratio: np.ndarray,
    which: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate one channel month by month: (active-month mask, transactions, amount)."""
    n = len(labels)
    used = rng.random(n) < _param(labels, lambda p: getattr(p, which).use)
    rate = _beta(rng, labels, lambda p: getattr(p, which).activity)
    # The number of active months follows the customer's rate closely (a habit, not a coin flip per
    # month), which keeps personas compact; users get at least one month, so "used" decides the zeros.
    months = np.clip(np.rint(rate * tenure + MONTH_JITTER * rng.standard_normal(n)), 1, tenure)
    months = np.where(used, months, 0)
    # Which months: a random order of the tenure's months, the first `months` of them are active.
    keys = np.where(np.arange(MONTHS)[None, :] < tenure[:, None], rng.random((n, MONTHS)), 2.0)
    active = keys.argsort(axis=1).argsort(axis=1) < months[:, None]
    extra = _persona_lognormal(rng, labels, lambda p: getattr(p, which).extra_trx)
    trx = ((1 + rng.poisson(np.broadcast_to(extra[:, None], (n, MONTHS)))) * active).sum(axis=1)
    ticket = _persona_lognormal(rng, labels, lambda p: getattr(p, which).ticket)
    # Customers with larger limits spend more per ticket (real log-log slopes: 0.4 to 0.8).
    ticket = ticket * limit_ratio ** _param(labels, lambda p: getattr(p, which).limit_elasticity)
    amount = trx * ticket * np.exp(0.25 * rng.standard_normal(n))
    amount = np.round(amount, CENTS if which in PURCHASE_CHANNELS else DECIMALS)
    # Rounding must not turn a real transaction into a zero amount.
    return active, trx, np.where(trx > 0, np.maximum(amount, 0.01), 0.0)


def _grid_share(rng: np.random.Generator, rate: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Binomial share k/denominator, the monthly grid the real frequencies sit on."""
    return rng.binomial(denominator, np.clip(rate, 0.0, 1.0)) / denominator


def _round_limit(limit: np.ndarray) -> np.ndarray:
    """Round limits like a bank does: to 100 below 2,000 and to 500 above."""
    step = np.where(limit < 2000, 100.0, 500.0)
    return np.clip(np.round(limit / step) * step, 100.0, MAX_LIMIT)


def _simulate(rng: np.random.Generator, labels: np.ndarray) -> dict[str, np.ndarray]:
    """All behavioural columns for customers with the given persona labels."""
    n = len(labels)
    short = labels == _NEW_CUSTOMER
    tenure = np.full(n, MONTHS)
    tenure_p = NEW_TENURE_WEIGHTS / NEW_TENURE_WEIGHTS.sum()
    tenure[short] = rng.choice(NEW_TENURES, size=short.sum(), p=tenure_p)

    limit_median = _param(labels, lambda p: p.limit[0])
    limit = _round_limit(_persona_lognormal(rng, labels, lambda p: p.limit))
    limit_ratio = limit / limit_median * np.exp(SPEND_SCALE_SIGMA * rng.standard_normal(n))

    oneoff_months, oneoff_trx, oneoff = _channel(rng, labels, tenure, limit_ratio, "oneoff")
    inst_months, inst_trx, inst = _channel(rng, labels, tenure, limit_ratio, "installment")
    cash_months, cash_trx, cash = _channel(rng, labels, tenure, limit_ratio, "cash")
    purchase_months = oneoff_months | inst_months

    # The real table counts balance updates over 11 intervals for 12-month customers.
    balance_denominator = np.where(tenure == MONTHS, MONTHS - 1, tenure)
    balance_rate = _beta(rng, labels, lambda p: p.balance_activity)
    balance_frequency = _grid_share(rng, balance_rate, balance_denominator)
    utilisation = _beta(rng, labels, lambda p: p.utilisation)
    # Cash advances are carried over as balance; that is why BALANCE and CASH_ADVANCE move together.
    # Last month's purchases are still on the statement balance.
    balance = limit * utilisation * np.exp(0.45 * rng.standard_normal(n)) + 0.2 * cash + 0.3 * (oneoff + inst) / tenure
    balance = np.where(balance_frequency == 0, 0.0, balance)

    pay_ratio = _persona_lognormal(rng, labels, lambda p: p.pay_ratio)
    base = _lognormal(rng, np.full(n, 60.0), np.full(n, 1.0))
    balance_paid = _param(labels, lambda p: p.balance_paid) * balance
    payments = pay_ratio * (oneoff + inst + CASH_REPAID * cash) + balance_paid + base
    payments[rng.random(n) < _param(labels, lambda p: p.zero_pay)] = 0.0

    # Minimum due: a share of the balance, but never below a small floor; a few are far larger.
    floor = _lognormal(rng, np.full(n, 140.0), np.full(n, 0.6))
    minimum = np.maximum(balance * _lognormal(rng, np.full(n, 0.3), np.full(n, 0.8)), floor)
    # A few minimums are far larger (arrears, fees): the real column's tail is much heavier.
    minimum *= np.where(rng.random(n) < 0.05, np.exp(np.minimum(rng.exponential(1.0, n), 4.0)), 1.0)
    missing = (payments == 0) | (rng.random(n) < EXTRA_MISSING_MIN_PAYMENTS)
    minimum = np.where(missing, np.nan, minimum)

    full_any = rng.random(n) < _param(labels, lambda p: p.full_pay[0])
    full_rate = _beta(rng, labels, lambda p: p.full_pay[1:])
    # Full payment is counted over the billed months, which can be a few less than the tenure.
    billed = np.maximum(tenure - rng.integers(0, 3, n), 1)
    full_share = np.maximum(rng.binomial(billed, full_rate), 1) / billed
    full_share = np.where(full_any & (payments > 0), full_share, 0.0)

    limit_missing = rng.choice(n, size=max(1, round(n / ROWS_PER_MISSING_LIMIT)), replace=False)
    limit[limit_missing] = np.nan

    columns = {
        "BALANCE": balance,
        "BALANCE_FREQUENCY": balance_frequency,
        "PURCHASES": np.round(oneoff + inst, CENTS),
        "ONEOFF_PURCHASES": oneoff,
        "INSTALLMENTS_PURCHASES": inst,
        "CASH_ADVANCE": cash,
        "PURCHASES_FREQUENCY": purchase_months.sum(axis=1) / tenure,
        "ONEOFF_PURCHASES_FREQUENCY": oneoff_months.sum(axis=1) / tenure,
        "PURCHASES_INSTALLMENTS_FREQUENCY": inst_months.sum(axis=1) / tenure,
        "CASH_ADVANCE_FREQUENCY": cash_months.sum(axis=1) / tenure,
        "CASH_ADVANCE_TRX": cash_trx.astype(int),
        "PURCHASES_TRX": (oneoff_trx + inst_trx).astype(int),
        "CREDIT_LIMIT": limit,
        "PAYMENTS": payments,
        "MINIMUM_PAYMENTS": minimum,
        "PRC_FULL_PAYMENT": full_share,
        "TENURE": tenure.astype(int),
    }
    return {
        name: np.round(values, DECIMALS) if values.dtype.kind == "f" else values for name, values in columns.items()
    }


# Amounts a month later: each drifts a little (log-normal, per customer and column); counts and frequencies,
# which are shares of the tenure's months, stay as they were for customers whose habits did not change.
DRIFTING_AMOUNTS = ("BALANCE", "ONEOFF_PURCHASES", "INSTALLMENTS_PURCHASES", "CASH_ADVANCE", "PAYMENTS")


def month_later(
    customers: pd.DataFrame,
    personas: pd.DataFrame,
    seed: int,
    stay_share: float,
    moves: Mapping[str, Mapping[str, float]],
    amount_drift_sigma: float,
    new_customers: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The portfolio a month later: most customers stay (a few change persona and are simulated anew from
    it), some leave, new ones arrive. Personas come back with each customer's ``PREVIOUS_PERSONA``."""
    rng = np.random.default_rng(seed)
    # the portfolio may come back from its CSV as text (the customer table is read as written)
    numbers = customers.drop(columns="CUST_ID").apply(pd.to_numeric)
    known = customers[["CUST_ID"]].join(numbers).merge(personas, on="CUST_ID", validate="1:1")
    known = known[rng.random(len(known)) < stay_share].reset_index(drop=True)
    before = known[PERSONA_COLUMN].to_numpy()
    after = np.array([_next_persona(rng, persona, moves) for persona in before], dtype=object)
    changed = after != before

    drifted = known[list(COLUMNS)].copy()
    for column in DRIFTING_AMOUNTS:
        factor = np.exp(amount_drift_sigma * np.clip(rng.standard_normal(len(drifted)), -3.0, 3.0))
        drifted[column] = np.round(drifted[column] * factor, CENTS if "PURCHASES" in column else DECIMALS)
    drifted["PURCHASES"] = np.round(drifted["ONEOFF_PURCHASES"] + drifted["INSTALLMENTS_PURCHASES"], CENTS)
    if changed.any():
        anew = pd.DataFrame(_simulate(rng, after[changed]), index=drifted.index[changed])
        drifted.loc[changed, anew.columns] = anew
    arrived, arrived_personas = generate_portfolio(**new_customers)
    month = pd.concat([drifted, arrived], ignore_index=True)[list(COLUMNS)]
    labels = pd.DataFrame(
        {
            "CUST_ID": month["CUST_ID"],
            PERSONA_COLUMN: np.concatenate([after, arrived_personas[PERSONA_COLUMN].to_numpy()]),
            "PREVIOUS_PERSONA": np.concatenate([before, np.full(len(arrived), None, dtype=object)]),
        }
    )
    logger.info(
        "A month later: %d of %d customers stay (%d change habits), %d leave, %d are new",
        len(known),
        len(customers),
        int(changed.sum()),
        len(customers) - len(known),
        len(arrived),
    )
    return month, labels


def _next_persona(rng: np.random.Generator, persona: str, moves: Mapping[str, Mapping[str, float]]) -> str:
    """The persona a customer has a month later: its own, or one it moves to with the given probabilities."""
    targets = moves.get(persona, {})
    unknown = set(targets) - set(PERSONAS)
    if unknown:
        raise ValueError(f"unknown persona(s) {sorted(unknown)} in the moves of {persona!r}; known: {list(PERSONAS)}")
    draw, cumulative = rng.random(), 0.0
    for target, probability in targets.items():
        cumulative += probability
        if draw < cumulative:
            return target
    return persona
