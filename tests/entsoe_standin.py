"""A stand-in for the ENTSO-E Transparency Platform web API (the real one needs a personal token and
the network, neither of which the tests have). It answers GET /api like the platform does for
documentType=A44: a ``Publication_MarketDocument`` for the days it holds, an
``Acknowledgement_MarketDocument`` ("No matching data found", HTTP 200 as the platform sends it
today) for days it does not, HTTP 401 for a wrong token and HTTP 429 while rate limited.

The documents are written here from the published schemas (iec62325-451-3 publication document 7:3,
iec62325-451-1 acknowledgement document 7:0) and the platform's answers as documented in its
Implementation Guide: curve type A03 (a position is left out where the price repeats), one Period
per delivery day, UTC ``yyyy-mm-ddThh:mmZ`` intervals, ``price.amount`` in EUR/MWh.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
DE_LU = "10Y1001A1001A82H"
PUBLICATION_NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
ACK_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), BERLIN).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), BERLIN).astimezone(UTC)
    return start, end


def _z(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass
class PublishedDay:
    """One delivery day as published: its resolution (15 or 60) and one price per period."""

    day: date
    minutes: int
    prices: list[float]
    revision: int = 1

    @property
    def periods(self) -> int:
        start, end = day_bounds(self.day)
        return int((end - start) / timedelta(minutes=self.minutes))


def example_prices(day: date, minutes: int, offset: float = 0.0) -> list[float]:
    """A plausible day-ahead curve (night trough, solar dip, evening peak), with repeated neighbours."""
    start, end = day_bounds(day)
    count = int((end - start) / timedelta(minutes=minutes))
    prices = []
    for n in range(count):
        hour = (start + n * timedelta(minutes=minutes)).astimezone(BERLIN).hour
        base = 60.0 + (40.0 if 17 <= hour <= 20 else 0.0) - (35.0 if 11 <= hour <= 14 else 0.0)
        prices.append(round(base + offset + (n // 2) % 3 * 1.25, 2))  # pairs repeat: A03 leaves positions out
    return prices


def publication_document(days: list[PublishedDay], eic: str = DE_LU) -> str:
    start = min(day_bounds(d.day)[0] for d in days)
    end = max(day_bounds(d.day)[1] for d in days)
    series = []
    for number, published in enumerate(days, start=1):
        day_start, day_end = day_bounds(published.day)
        resolution = f"PT{published.minutes}M"
        points, previous = [], None
        for position, price in enumerate(published.prices, start=1):
            if price == previous and position > 1:
                continue  # A03: the price holds until the next position given
            points.append(f"<Point><position>{position}</position><price.amount>{price}</price.amount></Point>")
            previous = price
        series.append(
            f"""  <TimeSeries>
    <mRID>{number}</mRID>
    <auction.type>A01</auction.type>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">{eic}</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">{eic}</out_Domain.mRID>
    <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <classificationSequence_AttributeInstanceComponent.position>1</classificationSequence_AttributeInstanceComponent.position>
    <curveType>A03</curveType>
    <Period>
      <timeInterval><start>{_z(day_start)}</start><end>{_z(day_end)}</end></timeInterval>
      <resolution>{resolution}</resolution>
      {"".join(points)}
    </Period>
  </TimeSeries>"""
        )
    revision = max(d.revision for d in days)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="{PUBLICATION_NS}">
  <mRID>a44-{start:%Y%m%d}-{revision}</mRID>
  <revisionNumber>{revision}</revisionNumber>
  <type>A44</type>
  <sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</sender_MarketParticipant.mRID>
  <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>
  <receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</receiver_MarketParticipant.mRID>
  <receiver_MarketParticipant.marketRole.type>A33</receiver_MarketParticipant.marketRole.type>
  <createdDateTime>2025-12-01T12:00:00Z</createdDateTime>
  <period.timeInterval><start>{_z(start)}</start><end>{_z(end)}</end></period.timeInterval>
{chr(10).join(series)}
</Publication_MarketDocument>
"""


def no_matching_data(start: datetime, end: datetime, eic: str = DE_LU) -> str:
    interval = f"{start:%Y-%m-%dT%H:%M:00.000Z}/{end:%Y-%m-%dT%H:%M:00.000Z}"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Acknowledgement_MarketDocument xmlns="{ACK_NS}">
  <mRID>ack-{start:%Y%m%d%H%M}</mRID>
  <createdDateTime>2025-12-01T12:00:00Z</createdDateTime>
  <sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</sender_MarketParticipant.mRID>
  <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>
  <receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450</receiver_MarketParticipant.mRID>
  <receiver_MarketParticipant.marketRole.type>A39</receiver_MarketParticipant.marketRole.type>
  <received_MarketDocument.createdDateTime>2025-12-01T12:00:00Z</received_MarketDocument.createdDateTime>
  <Reason>
    <code>999</code>
    <text>No matching data found for Data item Energy Prices [12.1.D] ({eic}, {eic}) and interval {interval}.</text>
  </Reason>
</Acknowledgement_MarketDocument>
"""


@dataclass
class StandIn:
    token: str = "test-token"
    days: dict[date, PublishedDay] = field(default_factory=dict)
    rate_limited: int = 0  # answer this many requests with HTTP 429 first
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def publish(self, *days: PublishedDay) -> None:
        for published in days:
            self.days[published.day] = published

    def answer(self, query: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        self.requests.append(query)
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return 429, "Too many requests", {"Retry-After": "1"}
        if query.get("securityToken") != self.token:
            return 401, "<html><body>Unauthorized</body></html>", {}
        start = datetime.strptime(query["periodStart"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        end = datetime.strptime(query["periodEnd"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        eic = query.get("in_Domain", "")
        held = [d for d in self.days.values() if eic == DE_LU and start <= day_bounds(d.day)[0] < end]
        if not held:
            return 200, no_matching_data(start, end, eic), {}
        return 200, publication_document(sorted(held, key=lambda d: d.day), eic), {}


def serve(stand_in: StandIn):
    """Starts the stand-in on a free port; returns the server (call ``shutdown``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, body, headers = stand_in.answer(query) if parts.path == "/api" else (404, "not found", {})
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml" if body.startswith("<?xml") else "text/html")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/api"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
