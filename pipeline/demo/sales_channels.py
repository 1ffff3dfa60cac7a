"""The sales channels' exports: Tmall, JD, Pinduoduo, store POS and dealer reports, each in its own layout and
dirt."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import xlsxwriter

from pipeline.demo import vocab
from pipeline.demo.catalogue import line_product_expr, product_name, product_sku
from pipeline.demo.files import (
    add_row_numbers,
    duplicate_rows,
    line_amount_expr,
    month_file,
    plant_defects,
    write_per_file,
)
from pipeline.demo.population import HEADER, mask_phone

ORDER_DEFECTS = {
    "negative_amount": {"amount": -pl.col("amount")},
    "unparseable_date": {"ordered_at_text": pl.lit("2024-13-45 25:61:00")},
    "date_in_future": {"ordered_at_text": pl.lit("2031-01-01 10:00:00")},
}


# The person attributes the channel writers print; joining only these keeps the order frames narrow.
ORDER_PERSON_COLUMNS = [
    "person_id",
    "name",
    "phone",
    "nick",
    "address",
    "province",
    "city",
    "member_id",
    "is_member",
    "company_name",
]


def _orders_for(orders: pl.DataFrame, persons: pl.DataFrame, channel: str) -> pl.DataFrame:
    return (
        orders.filter(pl.col("channel") == channel)
        .join(persons.select(ORDER_PERSON_COLUMNS), on="person_id", how="left")
        .sort("ordered_at", "order_seq")
    )


def write_tmall(out, orders, persons, rng, truth, daily_from=None, drift_from=None):
    phone = pl.when(pl.col("mask") < 0.7).then(mask_phone(pl.col("phone"))).otherwise(pl.col("phone"))
    if drift_from is not None:  # the planted drift: the export stops carrying the buyer's phone
        phone = pl.when(pl.col("ordered_at").dt.date() >= drift_from).then(pl.lit(None, pl.String)).otherwise(phone)
    df = _orders_for(orders, persons, "tmall").with_columns(
        (pl.lit("3") + (pl.col("order_seq") + 10**17).cast(pl.String).str.slice(1)).alias("order_id"),
        phone.alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("ordered_at_text"),
        pl.col("status")
        .replace_strict(
            {"completed": "交易成功", "cancelled": "交易关闭", "refunded": "退款成功", "partially_refunded": "部分退款"}
        )
        .alias("status_cn"),
        month_file("marketplaces/tmall/tmall_orders_", daily_from=daily_from).alias("file"),
    )
    df = plant_defects(df, rng, 0.003, ORDER_DEFECTS)
    df = duplicate_rows(df, rng, 0.001, ["file", "ordered_at", "order_seq"])
    df = add_row_numbers(df)
    truth.add("tmall", df, "order_id")
    write_per_file(
        df.select(
            pl.col("order_id").alias("订单编号"),
            pl.col("nick").alias("买家会员名"),
            pl.col("name").alias("收货人姓名"),
            pl.col("phone_out").alias("收货人手机"),
            pl.col("address").alias("收货地址"),
            pl.col("amount").alias("实付金额"),
            pl.col("refund_amount").alias("退款金额"),
            pl.col("status_cn").alias("订单状态"),
            pl.col("ordered_at_text").alias("订单创建时间"),
            product_name().alias("宝贝标题"),
            pl.col("n_lines").alias("宝贝数量"),
            "file",
        ),
        out,
        encoding="gbk",
    )


def write_jd(out, orders, persons, rng, truth, daily_from=None):
    df = _orders_for(orders, persons, "jd").with_columns(
        (pl.col("order_seq") + 2 * 10**11).cast(pl.String).alias("order_id"),
        pl.when(pl.col("mask") < 0.5).then(mask_phone(pl.col("phone"))).otherwise(pl.col("phone")).alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y/%m/%d %H:%M:%S").alias("ordered_at_text"),
        pl.col("status")
        .replace_strict(
            {"completed": "完成", "cancelled": "已取消", "refunded": "退款完成", "partially_refunded": "完成"}
        )
        .alias("status_cn"),
        month_file("marketplaces/jd/jd_order_lines_", daily_from=daily_from).alias("file"),
    )
    # One row per order line; the last line takes the rounding remainder so lines add up to the order.
    df = df.with_columns(pl.int_ranges(0, pl.col("n_lines")).alias("line")).explode("line")
    df = df.with_columns(line_amount_expr(), line_product_expr())
    df = plant_defects(df, rng, 0.003, {**ORDER_DEFECTS, "negative_amount": {"line_amount": -pl.col("line_amount")}})
    df = add_row_numbers(df)
    truth.add("jd", df, "order_id")
    sku = product_sku()
    write_per_file(
        df.select(
            pl.col("order_id").alias("订单号"),
            (pl.lit("jd_") + pl.col("nick")).alias("下单帐号"),
            pl.col("name").alias("客户姓名"),
            pl.col("phone_out").alias("联系电话"),
            sku.alias("商品编号"),
            product_name("line_product").alias("商品名称"),
            pl.lit(1).alias("购买数量"),
            pl.col("line_amount").alias("京东价"),
            pl.col("line_amount").alias("应付金额"),
            pl.col("status_cn").alias("订单状态"),
            pl.col("ordered_at_text").alias("下单时间"),
            pl.col("province").alias("省"),
            pl.col("city").alias("市"),
            "file",
        ),
        out,
        encoding="utf-8-sig",
    )


def write_pdd(out, orders, persons, rng, truth, end: date, daily_from=None):
    recent = pl.col("ordered_at") > pl.lit(datetime.combine(end, datetime.min.time())) - pl.duration(days=15)
    df = _orders_for(orders, persons, "pdd").with_columns(
        pl.format("{}-{}", pl.col("ordered_at").dt.strftime("%y%m%d"), pl.col("order_seq")).alias("order_id"),
        mask_phone(pl.col("phone")).alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y%m%d%H%M%S").alias("ordered_at_text"),
        pl.when(pl.col("status") == "completed")
        .then(pl.when(recent).then(pl.lit(2)).otherwise(pl.lit(3)))
        .when(pl.col("status") == "cancelled")
        .then(pl.lit(4))
        .when(pl.col("status") == "refunded")
        .then(pl.lit(5))
        .otherwise(pl.lit(6))
        .alias("status_code"),
        month_file("marketplaces/pdd/pdd_export_", daily_from=daily_from).alias("file"),
    )
    df = plant_defects(
        df,
        rng,
        0.003,
        {
            **ORDER_DEFECTS,
            "unparseable_date": {"ordered_at_text": pl.lit("20241345256100")},
            "date_in_future": {"ordered_at_text": pl.lit("20310101100000")},
        },
    )
    df = add_row_numbers(df)
    truth.add("pdd", df, "order_id")
    write_per_file(
        df.select(
            pl.col("order_id").alias("订单号"),
            (pl.lit("pdd") + pl.col("nick")).alias("用户ID"),
            pl.col("name").alias("收件人"),
            pl.col("phone_out").alias("手机号"),
            product_name().alias("商品"),
            pl.col("n_lines").alias("数量"),
            (pl.col("amount") * 100).round(0).cast(pl.Int64).alias("订单金额(分)"),
            (pl.col("refund_amount") * 100).round(0).cast(pl.Int64).alias("退款金额(分)"),
            pl.col("status_code").alias("订单状态码"),
            pl.col("ordered_at_text").alias("成交时间"),
            "file",
        ),
        out,
        separator=";",
    )


def write_pos(out, orders, persons, rng, truth, daily_from=None):
    df = _orders_for(orders, persons, "pos")
    store = rng.integers(0, len(vocab.STORES), df.height)
    df = df.with_columns(
        pl.Series("store", store),
        pl.format("R{}", pl.col("order_seq")).alias("receipt_no"),
        month_file("stores/pos_", daily_from=daily_from).alias("file"),
        pl.col("ordered_at").dt.strftime("%d/%m/%Y %H:%M").alias("ordered_at_text"),
    ).with_columns(
        pl.when(pl.col("is_member") & (pl.col("show_card") < 0.6)).then(pl.col("member_id")).alias("card"),
        pl.when((pl.col("show_card") >= 0.6) & (pl.col("show_card") < 0.75))
        .then(pl.col("phone"))
        .alias("member_phone"),
        pl.col("status")
        .replace_strict({"completed": "S", "cancelled": "V", "refunded": "R", "partially_refunded": "S"})
        .alias("status_code"),
    )
    df = df.with_columns(pl.int_ranges(0, pl.col("n_lines")).alias("line")).explode("line")
    n = df.height
    # The receipt's lines share the order's amount (the person's spending), as quantity x unit price.
    df = df.with_columns(pl.Series("qty", rng.choice([1, 1, 1, 2, 3], size=n)), line_amount_expr(), line_product_expr())
    df = df.with_columns((pl.col("line_amount") / pl.col("qty")).round(2).alias("unit_price"))
    # Some receipts lose their number in the export: the loader derives an id from file and row.
    df = df.with_columns(pl.when(pl.col("mask") < 0.03).then(None).otherwise(pl.col("receipt_no")).alias("receipt_no"))
    df = plant_defects(
        df,
        rng,
        0.003,
        {
            "unparseable_date": {"ordered_at_text": pl.lit("31/02/2024 25:00")},
            "non_numeric_quantity": {"qty": pl.lit(None, pl.Int64)},
        },
    )
    df = df.with_columns(
        pl.when(pl.col("defect") == "non_numeric_quantity")
        .then(pl.lit("two"))
        .otherwise(pl.col("qty").cast(pl.String))
        .alias("qty_text")
    )
    df = add_row_numbers(df)
    truth.add("pos", df, "receipt_no")
    sku = product_sku()
    write_per_file(
        df.select(
            "receipt_no",
            pl.col("store")
            .replace_strict(dict(enumerate(s for s, _ in vocab.STORES)), return_dtype=pl.String)
            .alias("store_code"),
            pl.col("card").alias("member_card"),
            "member_phone",
            sku.alias("sku"),
            product_name("line_product").alias("item_name"),
            pl.col("qty_text").alias("qty"),
            "unit_price",
            pl.col("status_code").alias("txn_type"),
            pl.col("ordered_at_text").alias("sold_at"),
            "file",
        ),
        out,
    )


def write_dealers(out, orders, persons, rng, truth):
    """Dealer reports: one workbook per dealer and year, completed sales only, net of refunds."""
    df = (
        _orders_for(orders, persons, "dealer")
        .filter(pl.col("status") != "cancelled")
        .with_columns(
            (pl.col("person_id") % len(vocab.DEALERS)).alias("dealer"),
            pl.col("ordered_at").dt.year().alias("year"),
            pl.format("INV{}", pl.col("order_seq")).alias("invoice_no"),
            (pl.col("amount") - pl.col("refund_amount")).round(2).alias("net_amount"),
        )
    )
    df = df.with_columns(
        pl.format(
            "dealers/{}_sales_{}.xlsx",
            pl.col("dealer").replace_strict(dict(enumerate(d for d, _ in vocab.DEALERS)), return_dtype=pl.String),
            pl.col("year"),
        ).alias("file")
    ).sort("file", "ordered_at", "order_seq")
    df = add_row_numbers(df, header_row=HEADER["dealer"])
    truth.add("dealer", df, "invoice_no")
    header = ["Invoice No", "Customer", "Contact Person", "Tel", "Invoice Date", "Product", "Qty", "Net Amount (CNY)"]
    excel_epoch = date(1899, 12, 30)
    for (file,), part in df.partition_by("file", as_dict=True, maintain_order=True).items():
        path = out / file
        path.parent.mkdir(parents=True, exist_ok=True)
        title = dict(vocab.DEALERS)[file.split("/")[1].split("_")[0]]
        rows = part.select(
            "invoice_no",
            "company_name",
            "name",
            "phone",
            (pl.col("ordered_at").dt.date() - pl.lit(excel_epoch)).dt.total_days().alias("serial"),
            product_name(),
            "n_lines",
            "net_amount",
        ).rows()
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("销售明细")
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_row(0, 0, [f"{title} 销售报表 {part['year'][0]}"])
        ws.write_row(2, 0, header)
        for r, row in enumerate(rows, start=3):
            ws.write_row(r, 0, row[:4])
            ws.write_number(r, 4, row[4], date_fmt)
            ws.write_row(r, 5, row[5:])
        wb.close()
