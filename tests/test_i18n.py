"""The one i18n mechanism (``luna_core.i18n``): message catalogues per language, complete in German and
English, rendered in the reader's locale (German decimal commas and euros), a third language added as
a catalogue file in a folder without code changes, clear errors for a missing key or parameter, and
the playbook's recommendations kept as a message key and JSON parameters, rendered at read time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from luna_core.i18n import MESSAGES, Catalogue, MessageError, MissingMessage, catalogue, negotiate, translate
from luna_core.i18n.message import Message
from luna_core.i18n.render import fields
from luna_core.luna import formatting as fmt
from luna_core.luna import prompts
from luna_core.playbook.conditions import METRIC_UNITS, OP_NAMES, Condition, DayFrame, describe
from luna_core.playbook.inputs import DayInputs, MeterInfo
from luna_core.playbook.optimizer import EvRequest, Infeasible, PriceCurve, optimise
from luna_core.playbook.recommendations import plan_day, recommendation_text
from luna_core.playbook.rules import Rule
from luna_core.playbook.strategies import STRATEGIES, validate_rule

DAY = date(2026, 5, 4)  # a Monday in summer time: Berlin midnight is 22:00 UTC
STARTS = tuple(datetime(2026, 5, 3, 22, tzinfo=UTC) + timedelta(hours=h) for h in range(24))


def _templates(found: Catalogue, language: str) -> dict[str, str | dict[str, str]]:
    return {key: found.template(key, language) for key in found.keys(language)}


def _fields(template: str | dict[str, str]) -> frozenset[str]:
    forms = template.values() if isinstance(template, dict) else [template]
    return frozenset().union(*(fields(f) for f in forms))


@pytest.mark.parametrize("found", [catalogue(), prompts.catalogue()], ids=["messages", "luna-prompts-v1"])
def test_every_key_exists_in_german_and_english_with_the_same_parameters(found):
    assert set(found.languages()) == {"de", "en"}
    english, german = _templates(found, "en"), _templates(found, "de")
    assert sorted(set(english) ^ set(german)) == []
    assert len(english) > 20
    for key, template in english.items():
        assert _fields(german[key]) == _fields(template), key
        assert isinstance(german[key], dict) == isinstance(template, dict), f"{key}: plural in one language only"


def test_a_missing_key_is_a_clear_error_and_a_strict_catalogue_never_falls_back(tmp_path):
    with pytest.raises(MissingMessage) as missing:
        translate("playbook.no_such_message.title", "de")
    assert "'playbook.no_such_message.title'" in str(missing.value) and "playbook.en.toml" in str(missing.value)
    (tmp_path / "playbook.fr.toml").write_text('[low_price]\ntitle = "Prix bas {span}"\n', encoding="utf-8")
    lenient, strict = Catalogue([MESSAGES, tmp_path]), Catalogue([MESSAGES, tmp_path], strict=True)
    assert lenient.translate("playbook.pv_surplus.title", "fr", span="12:00-14:00") == (
        "Use your solar power 12:00-14:00"  # French lacks it: English
    )
    with pytest.raises(MissingMessage, match=r"'playbook.pv_surplus.title' in language 'fr'.*playbook.fr.toml"):
        strict.translate("playbook.pv_surplus.title", "fr", span="12:00-14:00")
    with pytest.raises(MessageError, match="needs the parameter 'span'"):
        translate("playbook.pv_surplus.title", "de")
    with pytest.raises(MessageError, match="unknown format"):
        Catalogue([_folder(tmp_path / "bad", "x.en.toml", 'm = "{v:zz}"')]).translate("x.m", "en", v=1)


def _folder(path, name: str, content: str):
    path.mkdir()
    (path / name).write_text(content, encoding="utf-8")
    return path


def test_a_third_language_is_a_catalogue_file_and_no_code(tmp_path):
    (tmp_path / "common.fr.toml").write_text('eur_per_mwh = "{value:.0f} €/MWh"\n[meta]\nlocale = "fr_FR"\n')
    (tmp_path / "playbook.fr.toml").write_text(
        "[low_price]\n"
        'title = "Prix bas {span}"\n'
        'reason = "Le prix day-ahead descend à {low:.1f} €/MWh, sous votre seuil de {threshold:g} €/MWh."\n'
        "[ev_charging.reason]\n"
        'one = "Une heure suffit ({saving:EUR})."\n'
        'other = "{count} heures ({saving:EUR})."\n',
        encoding="utf-8",
    )
    with_french = Catalogue([MESSAGES, tmp_path])
    assert with_french.languages() == ("de", "en", "fr")
    french = with_french.translator("fr")
    assert french("playbook.low_price.title", span="13:00-15:00") == "Prix bas 13:00-15:00"
    reason = french("playbook.low_price.reason", low=-12.25, threshold=1500)
    assert reason == "Le prix day-ahead descend à -12,2 €/MWh, sous votre seuil de 1\u202f500 €/MWh."
    assert french("playbook.ev_charging.reason", count=1, saving=1234.5) == "Une heure suffit (1\u202f234,50\u00a0€)."
    assert french("playbook.ev_charging.reason", count=3, saving=2) == "3 heures (2,00\u00a0€)."
    # The browser's preference picks it, by primary language, with quality weights.
    assert negotiate("fr-CH, de;q=0.8", with_french.languages()) == "fr"
    assert negotiate("fr-CH, de;q=0.8", catalogue().languages()) == "de"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("en-GB,en;q=0.9,de;q=0.8", "en"),
        ("es, de;q=0.5, en;q=0.7", "en"),
        ("de;q=0, en;q=0.1", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
        (";;,q=, de;q=abc, DE-de", "de"),
    ],
)
def test_accept_language_negotiation(header, expected):
    assert negotiate(header, ("de", "en")) == expected


def test_german_renders_use_decimal_commas_and_the_euro_after_the_amount():
    assert translate("playbook.ev_charging.reason", "de", **_ev_params(22.5, 3, 1234.567)).startswith(
        "Bis 19:00 werden 22,5 kWh gebraucht. Laden in den 3 günstigsten Stunden (Mittel 45 €/MWh)"
    )
    assert translate("playbook.ev_charging.reason", "de", **_ev_params(22.5, 3, 1234.567)).endswith(
        "spart 1.234,57\u00a0€."
    )
    assert translate("playbook.ev_charging.reason", "en", **_ev_params(22.5, 1, 1234.567)) == (
        "22.5 kWh are needed by 19:00. Charging in the cheapest hour (mean 45 €/MWh) instead of on arrival at "
        "07:00 (mean n/a) saves €1,234.57."
    )
    notes = [Message("optimiser.naive_over_limit", limit=6.5)]
    assert translate("playbook.battery_arbitrage.reason", "de", saving=0.5, notes=notes).endswith(
        "spart 0,50\u00a0€ gegenüber einfachem Eigenverbrauch. Der einfache Plan überschreitet die vereinbarten "
        "6,5 kW; der optimierte Plan hält sie ein."
    )
    # The optimiser's reasons: English as the exception's text, any language for the reader.
    with pytest.raises(Infeasible) as infeasible:
        optimise(EvRequest(energy_kwh=80, power_kw=11, battery_kwh=60.5), PriceCurve(STARTS, np.full(24, 50.0)))
    assert str(infeasible.value) == "80.0 kWh do not fit into a 60.5 kWh car battery"
    assert (
        infeasible.value.text(catalogue().translator("de")) == "80,0 kWh passen nicht in eine Autobatterie mit 60,5 kWh"
    )
    # Luna's numbers and dates, the same Babel locales.
    assert fmt.number(1234.25, "de", 1) == "1.234,2" and fmt.number(1234.25, "en", 1) == "1,234.2"
    assert fmt.number(-0.004, "de", 2) == "0,00"  # rounds to zero: no minus sign
    assert fmt.day(date(2026, 11, 6), "de") == "06.11.2026" and fmt.day(date(2026, 11, 6), "en") == "6 Nov 2026"
    moment = datetime(2026, 11, 16, 14, 5, tzinfo=UTC)
    assert translate("help.kpis_yours", "de", kwh=1234.5, cost=56.78, peak=11.0, peak_at=moment) == (
        "Bei Ihnen in diesem Monat bisher: 1.234,5 kWh für 56,78\u00a0€ zu Marktpreisen, mit der Spitze von "
        "11,0 kW am 16.11.2026 14:05."
    )


def _ev_params(energy: float, count: int, saving: float) -> dict:
    return Message(
        "playbook.ev_charging",
        device="car",
        spans="01:00-04:00",
        energy=energy,
        deadline="19:00",
        count=count,
        price=Message("common.eur_per_mwh", value=45.2),
        arrival="07:00",
        naive_price=Message("common.not_available"),
        saving=saving,
    ).params


def _rule(rule_id: int, strategy: str, params: dict | None = None, condition=None, action=None, name=None) -> Rule:
    checked_condition, checked_action, checked_params = validate_rule(strategy, condition, action, params)
    return Rule(
        rule_id, "t", name or strategy, strategy, checked_condition, checked_action, checked_params, True, 1, STARTS[0]
    )


def _inputs() -> DayInputs:
    prices = np.array([60.0, 40, 30, 25, 30, 50, 90, 120, 110, 80, 40, 10, -15, -20, 5, 30, 70, 140, 160, 130, 100,
                       80, 70, 65])  # fmt: skip
    load = np.array([4.0] * 17 + [13.5, 14.0, 9.0] + [4.0] * 4)
    pv = np.clip(8 * np.sin((np.arange(24) - 6) / 12 * np.pi), 0, None)
    frame = DayFrame(STARTS, np.arange(24), prices, load, np.full(24, np.nan), pv)
    meters = [
        MeterInfo("car", "ev", 11.0),
        MeterInfo("van", "ev", 11.0),
        MeterInfo("hp", "heat_pump", 6.0),
        MeterInfo("bat", "battery", 5.0),
        MeterInfo("roof", "pv", 8.0),
    ]
    profiles = {"hp": np.full(24, 1.5)}
    return DayInputs("t", "Europe/Berlin", "DE-LU", DAY, PriceCurve(STARTS, prices), frame, meters, profiles)


def test_every_recommendation_is_a_message_key_with_json_params_rendered_in_each_language():
    rules = [
        _rule(
            1, "ev_cheapest_window", {"meter_id": "car", "energy_kwh": 22.5, "arrival": "07:00", "deadline": "19:00"}
        ),
        _rule(2, "ev_cheapest_window", {"meter_id": "van", "energy_kwh": 500, "arrival": "07:00", "deadline": "09:00"}),
        _rule(3, "heat_pump_preheat", {}),
        _rule(4, "peak_shaving", {"contracted_kw": 10, "battery_meter_id": "bat"}),
        _rule(5, "battery_arbitrage", {}),
        _rule(6, "pv_self_consumption", {}),
        _rule(7, "negative_price_alert", {}),
        _rule(
            8,
            "custom",
            {"limit": 100},
            condition={
                "all": [{"metric": "price", "op": ">", "param": "limit"}, {"metric": "hour", "op": ">=", "value": 17}]
            },
            action={"type": "cap_demand", "device": "hp", "message_en": "Evening peak prices"},
            name="Dear evenings",
        ),
    ]
    result = plan_day(_inputs(), rules)
    assert result.notes == []
    by_rule = {r.rule_id: r for r in result.recommendations}
    assert set(by_rule) == set(range(1, 9))
    english, german = catalogue(strict=True).translator("en"), catalogue(strict=True).translator("de")
    for rec in result.recommendations:
        stored = json.loads(json.dumps(rec.params))  # what PostgreSQL keeps
        assert rec.message_key.startswith("playbook.")
        en, de = (
            recommendation_text(rec.message_key, stored, english),
            recommendation_text(rec.message_key, stored, german),
        )
        assert en.reason != de.reason and en.title and de.title, rec.message_key
    text = {
        rule: tuple(recommendation_text(r.message_key, r.params, t) for t in (english, german))
        for rule, r in by_rule.items()
    }
    en, de = text[1]
    assert en.title.startswith("Charge car ") and de.title.startswith("car laden ")
    assert "22.5 kWh are needed by 19:00" in en.reason and "€" in en.reason
    assert "Bis 19:00 werden 22,5 kWh gebraucht" in de.reason and de.reason.endswith("\u00a0€.")
    en, de = text[2]  # infeasible: the optimiser's reason in the reader's language too
    assert en.title == "EV charging van: no plan possible" and de.title == "EV-Laden van: kein Plan möglich"
    assert "500.0 kWh at 11 kW need 49.4 h of charging" in en.reason
    assert "500,0 kWh mit 11 kW brauchen 49,4 h Ladezeit" in de.reason
    assert text[4][1].title == "Last über den vereinbarten 10 kW 17:00-19:00"
    assert "Die prognostizierte Last erreicht 14,0 kW, 4,0 kW über der vereinbarten Spitze" in text[4][1].reason
    assert text[7][0].title == "Negative prices 12:00-14:00" and "falls to -20 €/MWh" in text[7][0].reason
    en, de = text[8]  # a rule's own message where its author wrote one, generated words elsewhere
    assert en.title == "Evening peak prices" and de.title == "Dear evenings: die Last begrenzen (hp) 17:00-20:00"
    assert en.reason == (
        "Your rule 'Dear evenings' applies 17:00-20:00: (the day-ahead price above limit) and (the hour at least 17 h)."
    )
    assert de.reason == (
        "Ihre Regel 'Dear evenings' greift 17:00-20:00: (der Day-Ahead-Preis über limit) und "
        "(die Stunde mindestens 17 h)."
    )


def test_conditions_and_strategies_read_in_both_languages():
    strict = catalogue(strict=True)
    for language in ("de", "en"):
        t = strict.translator(language)
        for strategy in STRATEGIES.values():
            assert strategy.name(t) and strategy.description(t)
        for metric in METRIC_UNITS:
            for op in [*OP_NAMES, "between"]:
                extra = {"upper": 5.0} if op == "between" else {}
                assert describe(Condition(metric=metric, op=op, value=1.5, **extra)).render(t)
        assert describe(Condition(metric="price", op="<", percentile=25)).render(t)
    t = strict.translator("de")
    either = Condition(any=[{"always": True}, {"metric": "pv_kw", "op": "between", "value": 1, "upper": 2.5}])
    assert describe(either).render(t) == "(jeden Tag) oder (die PV-Leistung zwischen 1 und 2,5 kW)"
    assert STRATEGIES["peak_shaving"].name(t) == "Lastspitzenkappung"


def test_a_wrong_catalogue_folder_or_a_broken_file_stops_the_start_with_the_reason(tmp_path):
    from luna_core.i18n import catalogue_for
    from luna_core.settings import Settings

    missing = Settings(i18n_dir=tmp_path / "nowhere", _env_file=None)
    with pytest.raises(MessageError, match="nowhere does not exist"):
        catalogue_for(missing)
    (tmp_path / "playbook.fr.toml").write_text('[low_price\ntitle = "Prix bas"\n', encoding="utf-8")
    with pytest.raises(MessageError, match=r"playbook.fr.toml: not valid TOML"):
        catalogue_for(Settings(i18n_dir=tmp_path, _env_file=None))
    (tmp_path / "playbook.fr.toml").write_text("[low_price]\ntitle = 3\n", encoding="utf-8")
    with pytest.raises(MessageError, match=r"low_price\.title must be text"):
        catalogue_for(Settings(i18n_dir=tmp_path, environment="prod", _env_file=None))
