"""Texts the API writes, in the reader's language, chosen when they are read: one stored plan reads in
German or English by ``Accept-Language`` or ``?language=``, a third language comes from a catalogue
folder (``LUNA_I18N_DIR``) without code changes, and migration 0014 keeps the recommendations
written before it (and its downgrade restores the German and English columns)."""

from __future__ import annotations

import uuid
from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from luna_api.main import create_app
from luna_core.db import migrate
from luna_core.db.tenancy import tenant_scope
from luna_core.i18n import catalogue
from luna_core.market.store import upsert_prices
from luna_core.playbook.recommendations import recommendation_text
from luna_core.playbook.rules import create_rule
from luna_core.playbook.service import run_day
from luna_core.settings import Settings
from luna_core.simulation.market import simulate_day_ahead_prices
from tests.conftest import Meter, create_database, drop_database

DAY = date(2026, 5, 5)


@pytest.fixture(scope="module")
def planned(engine):
    """A tenant-day planned with an EV rule and an alert that fires all day."""
    from luna_core.tenants import create_tenant, delete_tenant

    zone = f"I18N-{uuid.uuid4().hex[:6]}"
    tenant = f"i18n-{uuid.uuid4().hex[:8]}"
    create_tenant(engine, tenant, tenant, "household", zone=zone, meter_specs=(Meter("main"), Meter("car", "ev", 11.0)))
    prices = simulate_day_ahead_prices("DE-LU", DAY, DAY, 60, seed=3).with_columns(pl.lit(zone).alias("zone"))
    with engine.begin() as connection:
        upsert_prices(connection, prices)
    with tenant_scope(engine, tenant) as connection:
        ev = create_rule(connection, tenant, name="car", strategy="ev_cheapest_window", params={"energy_kwh": 20.5},
                         actor="test")  # fmt: skip
        alert = create_rule(connection, tenant, name="cheap", strategy="negative_price_alert",
                            params={"threshold_eur_mwh": 4000}, actor="test")  # fmt: skip
    assert run_day(engine, tenant, DAY).planned
    yield {"tenant": tenant, "ev": ev.id, "alert": alert.id}
    delete_tenant(engine, tenant)


def _recommendations(api, user, **kwargs) -> dict:
    response = api.get("/playbook/recommendations", params={"date": DAY.isoformat(), **kwargs.pop("params", {})},
                       headers={**user.headers, **kwargs.pop("headers", {})})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def test_one_stored_plan_reads_in_the_language_of_each_request(api, api_user, planned):
    user = api_user(planned["tenant"])
    german = _recommendations(api, user, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    english = _recommendations(api, user, headers={"Accept-Language": "en-GB"})
    default = _recommendations(api, user)
    chosen = _recommendations(api, user, headers={"Accept-Language": "de"}, params={"language": "en"})
    assert (german["language"], english["language"], default["language"], chosen["language"]) == (
        "de",
        "en",
        "en",
        "en",
    )
    ev_de = next(r for r in german["items"] if r["rule_id"] == planned["ev"])
    ev_en = next(r for r in english["items"] if r["rule_id"] == planned["ev"])
    assert ev_de["message_key"] == "playbook.ev_charging" and ev_de["params"]["energy"] == 20.5
    assert ev_de["title"].startswith("car laden") and "20,5 kWh gebraucht" in ev_de["reason"]
    assert ev_en["title"].startswith("Charge car") and "20.5 kWh are needed" in ev_en["reason"]
    assert ev_de["reason"].endswith("\u00a0€.") and "saves €" in ev_en["reason"]
    # The fields older clients read are rendered from the same message.
    assert (ev_de["title_de"], ev_de["title_en"], ev_de["reason_en"]) == (
        ev_de["title"],
        ev_en["title"],
        ev_en["reason"],
    )
    assert [r["title"] for r in default["items"]] == [r["title"] for r in english["items"]]
    assert [r["title"] for r in chosen["items"]] == [r["title"] for r in english["items"]]
    strategies = api.get("/playbook/strategies", headers={**user.headers, "Accept-Language": "de"}).json()
    assert {s["key"]: s["name"] for s in strategies}["peak_shaving"] == "Lastspitzenkappung"
    assert {s["key"]: s["name_en"] for s in strategies}["peak_shaving"] == "Peak shaving"
    help_de = api.get("/rag/help", headers={**user.headers, "Accept-Language": "de"}).json()
    assert help_de["language"] == "de" and help_de["topics"][0]["title"] == "Ihre Kennzahlen"
    refused = api.get("/playbook/recommendations", params={"language": "fr"}, headers=user.headers)
    assert refused.status_code == 422 and "language must be one of de, en" in refused.json()["detail"]


def test_the_what_if_answers_in_the_readers_language(api, api_user):
    user = api_user()
    body = {"device": "ev", "prices": [50.0] * 24, "start": "2026-05-05T00:00:00+02:00", "energy_kwh": 80,
            "power_kw": 11, "battery_kwh": 60}  # fmt: skip
    german = api.post("/playbook/simulate", json=body, headers={**user.headers, "Accept-Language": "de"})
    english = api.post("/playbook/simulate", json=body, headers=user.headers)
    assert german.status_code == english.status_code == 422
    assert german.json() == {"error": "infeasible", "detail": "80,0 kWh passen nicht in eine Autobatterie mit 60,0 kWh"}
    assert english.json()["detail"] == "80.0 kWh do not fit into a 60.0 kWh car battery"


def test_a_third_language_from_a_catalogue_folder_without_code_changes(api_settings, api_user, planned, tmp_path):
    (tmp_path / "common.fr.toml").write_text('[meta]\nlocale = "fr_FR"\n', encoding="utf-8")
    (tmp_path / "playbook.fr.toml").write_text(
        '[low_price]\ntitle = "Prix bas {span}"\n'
        'reason = "Le prix day-ahead descend à {low:.0f} €/MWh, sous votre seuil de {threshold:g} €/MWh."\n'
        '[negative_price]\ntitle = "Prix négatifs {span}"\nreason = "Le prix descend à {low:.0f} €/MWh."\n'
        '[ev_charging]\ntitle = "Recharger {device} {spans}"\n'
        '[ev_charging.reason]\none = "{energy:.1f} kWh en une heure : {saving:EUR} de moins."\n'
        'other = "{energy:.1f} kWh en {count} heures : {saving:EUR} de moins."\n',
        encoding="utf-8",
    )
    settings = Settings.model_validate({**api_settings.model_dump(), "i18n_dir": tmp_path})
    user = api_user(planned["tenant"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as french_api:
        found = _recommendations(french_api, user, headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
        asked = _recommendations(french_api, user, params={"language": "fr"})
    assert found["language"] == asked["language"] == "fr"
    alert = next(r for r in found["items"] if r["rule_id"] == planned["alert"])
    ev = next(r for r in found["items"] if r["rule_id"] == planned["ev"])
    assert alert["title"].startswith("Prix ") and alert["reason"].startswith("Le prix ")
    assert ev["title"].startswith("Recharger car") and ev["reason"].startswith("20,5 kWh en ")
    assert ev["reason"].endswith("\u00a0€ de moins.") and ev["title_de"].startswith("car laden")
    assert [r["title"] for r in asked["items"]] == [r["title"] for r in found["items"]]


def test_migration_0014_keeps_old_recommendations_and_its_downgrade_restores_the_columns():
    name = f"luna_i18n_{uuid.uuid4().hex[:8]}"
    engine = create_engine(create_database(name))
    try:
        migrate.upgrade(engine, "luna_app", "0009")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tenants (id, name, kind) VALUES ('old', 'Old', 'household')"))
            connection.execute(
                text(
                    "INSERT INTO playbook_recommendations (tenant_id, day, strategy, title_en, title_de, reason_en, "
                    "reason_de) VALUES ('old', '2026-05-05', 'peak_shaving', 'Load above 11 kW', 'Last über 11 kW', "
                    "'Postpone it.', 'Verschieben Sie es.')"
                )
            )
        migrate.upgrade(engine, "luna_app")
        columns = {c["name"] for c in inspect(engine).get_columns("playbook_recommendations")}
        assert {"message_key", "params"} <= columns and not columns & {"title_en", "title_de", "reason_en", "reason_de"}
        with engine.begin() as connection:
            old = connection.execute(text("SELECT message_key, params FROM playbook_recommendations")).one()
            rendered = {
                language: recommendation_text(old.message_key, old.params, catalogue().translator(language))
                for language in ("en", "de")
            }
            assert (rendered["en"].title, rendered["en"].reason) == ("Load above 11 kW", "Postpone it.")
            assert (rendered["de"].title, rendered["de"].reason) == ("Last über 11 kW", "Verschieben Sie es.")
            connection.execute(
                text(
                    "INSERT INTO playbook_recommendations (tenant_id, day, strategy, message_key, params) VALUES "
                    "('old', '2026-05-06', 'pv_self_consumption', 'playbook.pv_surplus', "
                    """'{"span": "11:00-14:00", "kwh": 12.25}')"""
                )
            )
        migrate.downgrade(engine, "luna_app", "0009")
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT title_en, title_de, reason_en, reason_de FROM playbook_recommendations ORDER BY day")
            ).all()
        assert tuple(rows[0]) == ("Load above 11 kW", "Last über 11 kW", "Postpone it.", "Verschieben Sie es.")
        assert rows[1].title_en == "Use your solar power 11:00-14:00" and "Etwa 12,2 kWh PV-Strom" in rows[1].reason_de
        migrate.upgrade(engine, "luna_app")
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
        drop_database(name)
