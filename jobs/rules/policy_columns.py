"""Spark columns over lakehouse.policy (POLICY.md held as data in conf/policy.yaml)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.policy import load_policy


@F.pandas_udf(T.DecimalType(18, 2))
def _floor(years: pd.Series, regions: pd.Series) -> pd.Series:
    policy = load_policy()
    return pd.Series([policy.floor(int(y), r if isinstance(r, str) else None) for y, r in zip(years, regions, strict=True)])


def contribution_floor(month: Column, region: Column) -> Column:
    """缴费基数下限 for the calendar year of a contribution month and a region."""
    return _floor(F.year(month), region)


@F.pandas_udf(T.DateType())
def _legal_date(births: pd.Series, sexes: pd.Series, schemes: pd.Series, special: pd.Series) -> pd.Series:
    policy = load_policy()
    out: list[dt.date | None] = []
    for birth, sex, codes, job in zip(births, sexes, schemes, special, strict=True):
        known = birth is not None and not pd.isna(birth) and sex in ("1", "2") and codes is not None
        out.append(policy.legal_retirement_date_any(birth, sex, list(codes), bool(job)) if known else None)
    return pd.Series(out, dtype="object")


def legal_retirement_date(birth: Column, sex: Column, schemes: Column, special_job: Column) -> Column:
    """Legal retirement date under an array of schemes (the lower age applies); null without a scheme."""
    return _legal_date(birth, sex, schemes, F.coalesce(special_job, F.lit(False)))
