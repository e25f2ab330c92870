"""Data sets shipped in the lifetimes wheel (a test-only dependency), read with
importlib.resources rather than lifetimes' loaders (they import pkg_resources)."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd
import pytest


def _dataset(name: str) -> Any:
    pytest.importorskip("lifetimes")
    return files("lifetimes") / "datasets" / name


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """FHL's CDNOW calibration summary: 2,357 customers, weeks."""
    return pd.read_csv(_dataset("cdnow_customers_summary.csv"))


@pytest.fixture(scope="session")
def cdnow_orders() -> pd.DataFrame:
    """The CDNOW sample's orders (customer, day, amount), 1997-01-01 to 1998-06-30."""
    raw = pd.read_csv(_dataset("CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=["customer", "customer_id", "date", "cds", "amount"])
    raw["ordered_at"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return raw[["customer_id", "ordered_at", "amount"]]


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    """FHS 2010's donations data: 11,104 donors over 6 yearly opportunities, as counts."""
    return pd.read_csv(_dataset("donations.csv"))


CALIBRATION_END = datetime(1997, 9, 30)
OBSERVATION_END = datetime(1998, 6, 30)


def rfm(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (df["frequency"].to_numpy(float), df["recency"].to_numpy(float),
            df["T"].to_numpy(float))
