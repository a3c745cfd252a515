"""Which sql/views/*.sql can be created on a lake: a view reading a table the lake lacks is skipped.

The forecast views read gold.fund_forecast and gold.fund_projection, which only the monthly
`forecast` step writes; `lakehouse trino start` on a lake built by the nightly DAG alone must still
succeed (no Trino here: the check is on the statements).
"""

from __future__ import annotations

from lakehouse.services.trino import _DEFINES, missing_tables, view_statements

NIGHTLY_GOLD = {"gold.fund_monthly", "gold.age_structure", "gold.coverage", "gold.disease_monthly",
                "gold.drug_ranking"}


def test_forecast_views_wait_for_the_forecast_tables() -> None:
    statements = dict(view_statements())
    own = {f"{m.group(1)}.{m.group(2)}" for sql in statements.values() if (m := _DEFINES.search(sql))}
    lacking = {stem: missing_tables(sql, NIGHTLY_GOLD, own) for stem, sql in statements.items()}
    assert lacking["fund_forecast_fan"] == ["gold.fund_forecast"]
    assert lacking["fund_projection_scenarios"] == ["gold.fund_projection"]
    others = {stem: m for stem, m in lacking.items() if not stem.startswith("fund_")}
    assert others and not any(others.values()), others  # every nightly view has its tables
    with_forecast = NIGHTLY_GOLD | {"gold.fund_forecast", "gold.fund_projection"}
    assert not any(missing_tables(sql, with_forecast, own) for sql in statements.values())


def test_comments_and_the_views_own_name_are_not_reads() -> None:
    sql = ("-- from lakehouse.gold.commented_out\n"
           "CREATE OR REPLACE VIEW lakehouse.gold.v AS SELECT * FROM lakehouse.gold.t JOIN lakehouse.gold.w ON true")
    assert missing_tables(sql, {"gold.t"}, {"gold.w"}) == []
    assert missing_tables(sql, set(), {"gold.w"}) == ["gold.t"]
