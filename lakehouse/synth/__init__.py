"""Synthetic city generator (pure Python, no Spark): a true population and every nightly
source extract of shared/contracts/SOURCES.md as deliberately messy deliveries, plus the
planted truth to measure the pipeline against. Entry point: `generate_city`."""

from lakehouse.synth.city import CityInfo, generate_city

__all__ = ["CityInfo", "generate_city"]
