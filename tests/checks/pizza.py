"""A pizzaplace-like file: ``id`` is the ORDER (as in the R dataset ``pizzaplace``: 49,574 pizzas in
21,350 orders), so a load keyed on ``id`` by default finds 28,224 later rows of a seen key.

Generated with a fixed seed (the dataset itself is not in any package this project installs): one
row per pizza, an order's pizzas drawn with replacement from the menu, so an order holding the same
pizza twice gives an exact duplicate and two different pizzas a conflicting one.
"""

from __future__ import annotations

import random

PIZZAS = 49_574
ORDERS = 21_350
NAMES = [
    "bbq_ckn",
    "big_meat",
    "brie_carre",
    "calabrese",
    "cali_ckn",
    "ckn_alfredo",
    "ckn_pesto",
    "classic_dlx",
    "five_cheese",
    "four_cheese",
    "green_garden",
    "hawaiian",
    "ital_cpcllo",
    "ital_supr",
    "ital_veggie",
    "mediterraneo",
    "mexicana",
    "napolitana",
    "pep_msh_pep",
    "pepperoni",
    "peppr_salami",
    "prsc_argla",
    "sicilian",
    "soppressata",
    "southw_ckn",
    "spicy_ital",
    "spin_pesto",
    "spinach_fet",
    "spinach_supr",
    "thai_ckn",
    "the_greek",
    "veggie_veg",
]
SIZES = {"S": "12.00", "M": "16.00", "L": "20.75"}


def pizzaplace_like(pizzas: int = PIZZAS, orders: int = ORDERS, seed: int = 2015) -> bytes:
    """The CSV bytes: ``id,date,time,name,size,price``, ``pizzas`` rows in ``orders`` orders."""
    rng = random.Random(seed)
    per_order = [1] * orders
    for _ in range(pizzas - orders):
        per_order[rng.randrange(orders)] += 1
    lines = ["id,date,time,name,size,price"]
    for order, count in enumerate(per_order, start=1):
        day = f"2015-{1 + order * 12 // (orders + 1):02d}-{1 + order % 28:02d}"
        clock = f"{11 + order % 12:02d}:{order % 60:02d}:{(order * 7) % 60:02d}"
        for _ in range(count):
            size = rng.choice("SML")
            lines.append(f"{order},{day},{clock},{rng.choice(NAMES)},{size},{SIZES[size]}")
    return ("\n".join(lines) + "\n").encode()
