"""Day-ahead prices from the ENTSO-E Transparency Platform (document type A44).

The request is made here (httpx, base address and token from settings: entsoe-py's client reads its
address from a process-wide environment variable and sleeps ten seconds between retries), and the
answer is read with entsoe-py's own parser of the ``Publication_MarketDocument``. What the platform
sends is taken as published: quarter-hourly (``PT15M``, the SDAC day-ahead products since the
2025 switch) and hourly (``PT60M``, before it) periods are stored at their own resolution, and a
quarter-hourly day also gets its hourly means (resolution 60, source ``entsoe:hourly-mean``), so
the hourly series runs on across the switch. Timestamps are the delivery starts in UTC, so DST days
have 23 or 25 hours (92 or 100 quarter-hours) without any special case.

A day the platform has not published (yet) comes back as an ``Acknowledgement_MarketDocument``
("No matching data found"); it is reported in ``missing_days``, never guessed. HTTP 429 (rate limit)
is retried after its ``Retry-After`` a few times, then raised with the request that failed.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, timedelta
from xml.etree import ElementTree

import httpx
import polars as pl

from luna_core.ingest.errors import IngestError
from luna_core.market.auction import MARKET_TZ, day_window
from luna_core.market.sources import normalise_prices

log = logging.getLogger(__name__)

DEFAULT_URL = "https://web-api.tp.entsoe.eu/api"
DAY_AHEAD_DOCUMENT = "A44"
MAX_DAYS_PER_REQUEST = 100  # the platform answers at most a year per request; smaller keeps answers small
HOURLY_MEAN_SOURCE = "entsoe:hourly-mean"


class _HideToken(logging.Filter):
    """httpx logs each request's URL at INFO, and the platform wants its token in the query: mask it
    wherever those lines go (a Dagster run's log, the console)."""

    _TOKEN = re.compile(r"(securityToken=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", str(a)) if "securityToken=" in str(a) else a for a in record.args
            )
        record.msg = self._TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True


if not any(isinstance(f, _HideToken) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_HideToken())


class EntsoeError(IngestError):
    """The platform refused a request or sent a document that cannot be read (the message names which)."""


def zone_eic(zone: str) -> str:
    """The EIC code of a bidding zone written as Luna does (``DE-LU``) or as entsoe-py does (``DE_LU``)."""
    from entsoe.mappings import Area

    try:
        return Area[zone.replace("-", "_").upper()].code
    except KeyError:
        raise EntsoeError(f"bidding zone {zone!r} is unknown to ENTSO-E (write it like DE-LU, FR, NL)") from None


def parse_document(xml_text: str, zone: str, *, document: str = "ENTSO-E answer") -> pl.DataFrame:
    """Prices of a ``Publication_MarketDocument`` (empty for an Acknowledgement "no matching data");
    any other Acknowledgement raises with its reason text."""
    from entsoe.parsers import parse_prices

    root = _root(xml_text, document)
    kind = root.tag.rsplit("}", 1)[-1]
    if kind == "Acknowledgement_MarketDocument":
        reason = " ".join(t.strip() for t in root.itertext() if t.strip() and "No matching data" in t)
        if reason:
            return _empty()
        texts = [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "text"]
        raise EntsoeError(f"{document}: refused: {'; '.join(texts) or 'Acknowledgement without reason'}")
    if kind != "Publication_MarketDocument":
        raise EntsoeError(f"{document}: expected a Publication_MarketDocument, got {kind}")
    try:
        with warnings.catch_warnings():  # its parser reads XML with bs4's HTML parser, knowingly
            warnings.simplefilter("ignore")
            series = parse_prices(xml_text)
    except Exception as error:  # the parser's errors name no document: add it
        raise EntsoeError(f"{document}: cannot read the prices ({type(error).__name__}: {error})") from error
    frames = []
    for label, minutes in (("15min", 15), ("60min", 60)):
        values = series.get(label)
        if values is None or len(values) == 0:
            continue
        frames.append(
            pl.DataFrame(
                {
                    "ts": [ts.to_pydatetime().astimezone(UTC) for ts in values.index],
                    "eur_per_mwh": [float(v) for v in values.to_numpy()],
                }
            ).with_columns(
                pl.lit(zone).alias("zone"),
                pl.lit(minutes, pl.Int16).alias("resolution_minutes"),
                pl.lit("entsoe").alias("source"),
            )
        )
    if series.get("30min") is not None and len(series["30min"]):
        raise EntsoeError(f"{document}: 30-minute prices are not a day-ahead product Luna stores")
    if not frames:
        return _empty()
    # A correction may repeat a period in a later TimeSeries of the same document: the last one counts.
    frame = pl.concat(frames).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return frame.unique(subset=["resolution_minutes", "ts"], keep="last", maintain_order=True)


def with_hourly_means(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds the hourly mean of each complete hour of quarter-hour prices that has no published hourly price."""
    quarters = frame.filter(pl.col("resolution_minutes") == 15)
    if quarters.height == 0:
        return frame
    hourly = (
        quarters.group_by("zone", pl.col("ts").dt.truncate("1h"))
        .agg(pl.col("eur_per_mwh").mean(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 4)
        .drop("_n")
        .with_columns(pl.lit(60, pl.Int16).alias("resolution_minutes"), pl.lit(HOURLY_MEAN_SOURCE).alias("source"))
    )
    published = frame.filter(pl.col("resolution_minutes") == 60)
    hourly = hourly.join(published.select("zone", "ts"), on=["zone", "ts"], how="anti")
    return pl.concat([frame, hourly.select(frame.columns)])


class EntsoePrices:
    """The price source ``entsoe``: ``fetch`` returns what is published, ``missing_days`` what is not."""

    name = "entsoe"

    def __init__(
        self,
        token: str,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ValueError("market source 'entsoe' needs LUNA_ENTSOE_TOKEN")
        self.token, self.url, self.timeout = token, url, timeout
        self.max_retries, self.sleep = max_retries, sleep
        self.missing_days: list[date] = []

    def fetch(self, zone: str, start_day: date, end_day: date) -> pl.DataFrame:
        eic = zone_eic(zone)
        self.missing_days = []
        frames = []
        day = start_day
        while day <= end_day:
            last = min(end_day, day + timedelta(days=MAX_DAYS_PER_REQUEST - 1))
            frames.append(self._fetch_window(zone, eic, day, last))
            day = last + timedelta(days=1)
        frame = pl.concat(frames) if frames else _empty()
        covered = set(frame["ts"].dt.convert_time_zone(str(MARKET_TZ)).dt.date().to_list())
        self.missing_days = [
            start_day + timedelta(days=n)
            for n in range((end_day - start_day).days + 1)
            if start_day + timedelta(days=n) not in covered
        ]
        if self.missing_days:
            log.warning("ENTSO-E has no day-ahead prices for %s on %s", zone, ", ".join(map(str, self.missing_days)))
        return normalise_prices(with_hourly_means(frame))

    def _fetch_window(self, zone: str, eic: str, first: date, last: date) -> pl.DataFrame:
        start, end = day_window(first, last)
        params = {
            "documentType": DAY_AHEAD_DOCUMENT,
            "in_Domain": eic,
            "out_Domain": eic,
            "periodStart": start.strftime("%Y%m%d%H%M"),
            "periodEnd": end.strftime("%Y%m%d%H%M"),
        }
        document = f"ENTSO-E A44 {zone} {first}..{last}"
        text = self._get(params, document)
        frame = parse_document(text, zone, document=document)
        # A period may reach beyond the request (the platform answers whole documents): keep what was asked.
        return frame.filter((pl.col("ts") >= start) & (pl.col("ts") < end))

    def _get(self, params: dict[str, str], document: str) -> str:
        for attempt in range(self.max_retries + 1):
            try:
                response = httpx.get(self.url, params={**params, "securityToken": self.token}, timeout=self.timeout)
            except httpx.HTTPError as error:
                reason = str(error).replace(self.token, "[redacted]")
                raise EntsoeError(f"{document}: {self.url} unreachable ({type(error).__name__}: {reason})") from None
            if response.status_code == 429 and attempt < self.max_retries:
                wait = _retry_after(response)
                log.warning("%s: rate limited (HTTP 429), retrying in %.0f s", document, wait)
                self.sleep(wait)
                continue
            if response.status_code == 429:
                raise EntsoeError(f"{document}: rate limited (HTTP 429) after {self.max_retries} retries")
            if response.status_code == 401:
                raise EntsoeError(f"{document}: the token was refused (HTTP 401); check LUNA_ENTSOE_TOKEN")
            # "No matching data" comes as 200 or 400 with an Acknowledgement: the parser reads both.
            if response.status_code >= 400 and "Acknowledgement_MarketDocument" not in response.text:
                raise EntsoeError(f"{document}: HTTP {response.status_code}: {response.text[:200]}")
            return response.text
        raise AssertionError("unreachable")


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(120.0, max(1.0, float(response.headers.get("retry-after", "10"))))
    except ValueError:
        return 10.0


def _root(xml_text: str, document: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(xml_text.encode())
    except ElementTree.ParseError as error:
        raise EntsoeError(f"{document}: not an XML document ({error})") from error


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "ts": pl.Datetime("us", "UTC"),
            "eur_per_mwh": pl.Float64,
            "zone": pl.Utf8,
            "resolution_minutes": pl.Int16,
            "source": pl.Utf8,
        }
    )
