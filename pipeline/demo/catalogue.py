"""The demo retailer's catalogue: 3,000 SKUs in 12 categories, popularity a long tail within each category.

A category's first SKU is its flagship (the 12 best sellers); the rest are its variants, each sold less often than
the one before (Zipf weights), so a few hundred SKUs make most of the sales and most SKUs sell a handful of times,
as in a real shop. Categories come in taste groups of 4 consecutive ones: each person favours one group
(population.py), and an order's further lines are of the group's other categories (line_product_expr), which is
the co-purchase the recommendations should find (tests/e2e/test_pipeline.py).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# (category, flagship product); in taste groups of four consecutive categories
CATEGORIES = [
    ("杯壶", "保温杯 500ml"),
    ("厨房电器", "空气炸锅"),
    ("数码", "蓝牙耳机"),
    ("个护", "电动牙刷"),
    ("服装", "羽绒服"),
    ("鞋靴", "运动鞋"),
    ("美妆", "护肤套装"),
    ("清洁电器", "扫地机器人"),
    ("茶饮", "茶叶礼盒"),
    ("家纺", "床上四件套"),
    ("建材", "瓷砖(箱)"),
    ("智能家居", "智能门锁"),
]
SKUS_PER_CATEGORY = 250
TASTE_GROUP_SIZE = 4  # categories per taste group
TASTE_GROUPS = len(CATEGORIES) // TASTE_GROUP_SIZE
ZIPF_EXPONENT = 1.1
_RANK_DRAWS = 100_000  # resolution of the per-line pseudo-random rank (line_product_expr)


def _product(index: int) -> tuple[str, str, str]:
    category, flagship = CATEGORIES[index // SKUS_PER_CATEGORY]
    variant = index % SKUS_PER_CATEGORY
    name = flagship if variant == 0 else f"{flagship} 款{variant:03d}"
    return f"SKU{10001 + index}", name, category


# (sku, name, category) by product index: category = index // SKUS_PER_CATEGORY, variant = index % SKUS_PER_CATEGORY
PRODUCTS = [_product(i) for i in range(len(CATEGORIES) * SKUS_PER_CATEGORY)]


def variant_weights() -> np.ndarray:
    """Probability of each variant of a category (0: the flagship): a Zipf long tail."""
    w = 1.0 / (np.arange(SKUS_PER_CATEGORY) + 1.0) ** ZIPF_EXPONENT
    return w / w.sum()


# variant k appears in the table in proportion to its weight: table[u] for u uniform in [0, _RANK_DRAWS) is a draw
_VARIANT_TABLE = np.searchsorted(np.cumsum(variant_weights()), (np.arange(_RANK_DRAWS) + 0.5) / _RANK_DRAWS)


def draw_products(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """A product of each given category, its variant drawn by popularity."""
    variants = rng.choice(SKUS_PER_CATEGORY, size=len(categories), p=variant_weights())
    return categories * SKUS_PER_CATEGORY + variants


def line_product_expr() -> pl.Expr:
    """The product of an order's line: the first line's is the order's `product`; a further line is of the next
    category of the first one's taste group, its variant a deterministic pseudo-random popularity draw keyed on
    (order_seq, line), so every channel's export of an order names the same products."""
    category = pl.col("product") // SKUS_PER_CATEGORY
    group_start = category // TASTE_GROUP_SIZE * TASTE_GROUP_SIZE
    next_category = group_start + (category - group_start + pl.col("line")) % TASTE_GROUP_SIZE
    draw = (pl.col("order_seq") * 2654435761 + pl.col("line") * 40503) % _RANK_DRAWS
    variant = pl.lit(pl.Series(_VARIANT_TABLE, dtype=pl.Int64)).gather(draw)
    further = next_category * SKUS_PER_CATEGORY + variant
    return pl.when(pl.col("line") == 0).then(pl.col("product")).otherwise(further).alias("line_product")


def product_name(col: str = "product") -> pl.Expr:
    return _product_field(col, 1)


def product_sku(col: str = "line_product") -> pl.Expr:
    return _product_field(col, 0)


def _product_field(col: str, field: int) -> pl.Expr:
    """A product index column as one field of PRODUCTS (0: the SKU, 1: the name)."""
    return pl.col(col).replace_strict(dict(enumerate(p[field] for p in PRODUCTS)), return_dtype=pl.String)


def category_of(name: str) -> int:
    """The category index of a product name of this catalogue (tests: the taste a recommendation follows)."""
    return _CATEGORY_BY_NAME[name]


_CATEGORY_BY_NAME = {name: i // SKUS_PER_CATEGORY for i, (_, name, _) in enumerate(PRODUCTS)}
