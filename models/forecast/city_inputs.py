"""Backtest inputs read straight from a generated city's initial load (pandas, no lake).

The backtest needs three years of monthly history; building the lake of such a city through
ingest → silver → gold takes minutes of Spark on the 2-core machine, too slow for the default
suite. The forecasts only read the pension registry and flows and the deaths, so they are taken
from the initial `pension` and `public_security` deliveries and shaped like the tables
jobs/forecast.py reads (silver.person, silver.contribution, silver.pension_payment,
silver.death_event and gold.fund_monthly). Only what silver also does is done here: scheme and
payment-status codes through conf/codes.yaml, ID numbers normalised (lakehouse.identity) to join
the deaths, sex and birth date from the ID number where the field is unspecified, and one payment
per person × scheme × month (the 新老二套 double records collapsed, as silver de-duplicates them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lakehouse.identity import birth_date, normalise_certno, sex_code
from lakehouse.standardise import code_map

NO_REGION = "000000"  # as jobs/forecast.py and gold.fund_monthly count persons without a region


@dataclass(frozen=True)
class CityFrames:
    """The silver-shaped frames of one city (person_ref = the pension system's AAC001)."""

    person: pd.DataFrame  # person_ref, sex, birth_date, region, retired_on, special_job
    contribution: pd.DataFrame  # person_ref, employer_id, scheme, contribution_month, base, employer_amount, personal_amount
    pension_payment: pd.DataFrame  # person_ref, scheme, pay_month, amount, status
    death_event: pd.DataFrame  # person_ref, death_date
    fund_monthly: pd.DataFrame  # month, scheme, region, income_yuan, expenditure_yuan

    def person_on(self, day: dt.date) -> pd.DataFrame:
        """silver.person as of `day`: `is_pensioner` when retired on or before it."""
        retired = self.person["retired_on"].notna() & (self.person["retired_on"] <= day)
        return self.person.drop(columns="retired_on").assign(is_pensioner=retired.to_numpy())


def _month(raw: pd.Series) -> pd.Series:
    return pd.to_datetime(raw, format="%Y%m").dt.date


def _day(raw: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(raw.str.replace("/", "-"), format="mixed", errors="coerce")
    return pd.Series([d.date() if pd.notna(d) else None for d in parsed], index=raw.index, dtype=object)


def _persons(folder: Path) -> pd.DataFrame:
    raw = pd.read_csv(folder / "ac01_person.csv", dtype=str, encoding="gbk", keep_default_na=False)
    certno = raw["AAC002"].map(lambda s: normalise_certno(s).certno)
    births = pd.to_datetime(raw["AAC006"], format="%Y%m%d", errors="coerce")
    sex = [s if s in ("1", "2") else (sex_code(c) if c else None) for s, c in zip(raw["AAC004"], certno, strict=True)]
    born = [b.date() if pd.notna(b) else (birth_date(c) if c else None) for b, c in zip(births, certno, strict=True)]
    retired = pd.to_datetime(raw["AIC162"].where(raw["AAC084"] == "1"), format="%Y%m%d", errors="coerce")
    return pd.DataFrame({
        "person_ref": raw["AAC001"], "certno": certno, "sex": sex, "birth_date": born,
        "region": raw["AAB301"].replace("", NO_REGION),
        "retired_on": [d.date() if pd.notna(d) else None for d in retired],
        "special_job": raw["AAC058"] == "1",
    }).drop_duplicates("person_ref")


def _deaths(folder: Path, person: pd.DataFrame) -> pd.DataFrame:
    raw = pd.read_csv(folder / "hkzx.csv", dtype=str, keep_default_na=False)
    raw = raw[raw["ZXYYDM"] == "01"]  # 注销原因 01 死亡
    certno = raw["GMSFHM"].map(lambda s: normalise_certno(s).certno)
    deaths = pd.DataFrame({"certno": certno, "death_date": _day(raw["SWRQ"])}).dropna()
    deaths = deaths.groupby("certno", as_index=False)["death_date"].min()
    return person[["person_ref", "certno"]].merge(deaths, on="certno")[["person_ref", "death_date"]]


def _flows(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    scheme, status = code_map("scheme", "pension"), code_map("payment_status", "pension")
    c = pd.read_csv(folder / "ac43_contribution.csv", dtype=str, encoding="gbk", keep_default_na=False)
    contribution = pd.DataFrame({
        "person_ref": c["AAC001"], "employer_id": c["AAB001"].replace("", None), "scheme": c["AAE140"].map(scheme),
        "contribution_month": _month(c["AAE002"]), "base": c["AAE180"].astype(float),
        "employer_amount": c["AAE020"].astype(float), "personal_amount": c["AAE022"].astype(float)})
    p = pd.read_csv(folder / "ic80_payment.csv", dtype=str, encoding="gbk", keep_default_na=False)
    payment = pd.DataFrame({"person_ref": p["AAC001"], "scheme": p["AAE140"].map(scheme),
                            "pay_month": _month(p["AAE002"]), "amount": p["AAE019"].astype(float),
                            "status": p["AAE117"].map(status)})
    return (contribution.dropna(subset=["scheme"]),
            payment.dropna(subset=["scheme"]).drop_duplicates(["person_ref", "scheme", "pay_month"]))


def fund_monthly(person: pd.DataFrame, contribution: pd.DataFrame, payment: pd.DataFrame) -> pd.DataFrame:
    """gold.fund_monthly's pension rows: income (employer + personal contributions) and expenditure
    (pensions PAID with an amount > 0) per month × scheme × the person's region."""
    region = person[["person_ref", "region"]]
    paid = payment[(payment["status"] == "PAID") & (payment["amount"] > 0)]
    flows = pd.concat([
        contribution.assign(month=contribution["contribution_month"],
                            income_yuan=contribution["employer_amount"] + contribution["personal_amount"],
                            expenditure_yuan=0.0),
        paid.assign(month=paid["pay_month"], income_yuan=0.0, expenditure_yuan=paid["amount"]),
    ])[["person_ref", "month", "scheme", "income_yuan", "expenditure_yuan"]]
    flows = flows.merge(region, on="person_ref", how="left").fillna({"region": NO_REGION})
    return flows.groupby(["month", "scheme", "region"], as_index=False)[["income_yuan", "expenditure_yuan"]].sum()


def read_city(landing: Path, extract_date: dt.date) -> CityFrames:
    """The frames of the city's delivery of `extract_date` (its initial load holds the whole history)."""
    pension = landing / "pension" / extract_date.isoformat()
    person = _persons(pension)
    deaths = _deaths(landing / "public_security" / extract_date.isoformat(), person)
    contribution, payment = _flows(pension)
    return CityFrames(person.drop(columns="certno"), contribution, payment, deaths,
                      fund_monthly(person, contribution, payment))
