import { useState, type FormEvent } from "react";
import { alignSeries, Chart, toSeconds } from "../components/Chart";
import { Button, Card, ErrorNote, Field, inputClass, Stat, Unavailable } from "../components/ui";
import { api, ApiError } from "../lib/api";
import { fmtEur, isoDate, zonedMidnight } from "../lib/format";
import { useI18n } from "../lib/i18n";
import type { Simulation } from "../lib/types";

type Device = "ev" | "heat_pump" | "battery";

/** "What if I shift this load": the playbook's optimiser on tomorrow's prices (POST /playbook/simulate). */
export function Simulate({ tz }: { tz: string }) {
  const { t, locale } = useI18n();
  const [device, setDevice] = useState<Device>("ev");
  const [energy, setEnergy] = useState(20);
  const [power, setPower] = useState(11);
  // When the car is plugged in and when it must be charged (local times; overnight is fine).
  const [arrival, setArrival] = useState("18:00");
  const [deadline, setDeadline] = useState("07:00");
  const [result, setResult] = useState<Simulation | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);

  async function run(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const date = isoDate(zonedMidnight(new Date(), tz, 1), tz);
    const params =
      device === "battery"
        ? { capacity_kwh: energy, power_kw: power }
        : device === "ev"
          ? { energy_kwh: energy, power_kw: power, arrival, deadline }
          : { daily_kwh: energy, power_kw: power };
    try {
      setResult(await api.request<Simulation>("POST", "/playbook/simulate", { device, date, ...params }));
    } catch (caught) {
      if (caught instanceof ApiError && (caught.status === 404 || caught.status === 405) && caught.code !== "infeasible") setMissing(true);
      else if (caught instanceof ApiError && caught.status === 422) setError(new Error(t("meter.infeasible", { reason: caught.message })));
      else setError(caught as Error);
      setResult(null);
    } finally {
      setBusy(false);
    }
  }

  const plan = result?.plan ?? [];
  const data = alignSeries([
    { ts: plan.map((s) => toSeconds(s.start)), values: plan.map((s) => s.baseline_kw) },
    { ts: plan.map((s) => toSeconds(s.start)), values: plan.map((s) => s.optimised_kw) },
  ]);

  return (
    <Card title={t("meter.simulate")} testId="simulate">
      <p className="mb-3 text-sm text-muted">{t("meter.simulateHint")}</p>
      {missing ? (
        <Unavailable />
      ) : (
        <>
          <form onSubmit={run} className="flex flex-wrap items-end gap-3">
            <Field label={t("meter.device")} htmlFor="sim-device">
              <select id="sim-device" value={device} onChange={(e) => setDevice(e.target.value as Device)} className={inputClass}>
                {(["ev", "heat_pump", "battery"] as Device[]).map((d) => (
                  <option key={d} value={d}>{t(`meter.device.${d}`)}</option>
                ))}
              </select>
            </Field>
            <Field label={t(device === "heat_pump" ? "meter.dailyEnergy" : device === "battery" ? "meter.capacity" : "meter.energy")} htmlFor="sim-energy">
              <input id="sim-energy" type="number" min={1} max={200} value={energy} onChange={(e) => setEnergy(Number(e.target.value))} className={`${inputClass} w-28`} />
            </Field>
            {device === "ev" && (
              <>
                <Field label={t("meter.arrival")} htmlFor="sim-arrival">
                  <input id="sim-arrival" type="time" required value={arrival} onChange={(e) => setArrival(e.target.value)} className={`${inputClass} w-32`} />
                </Field>
                <Field label={t("meter.deadline")} htmlFor="sim-deadline">
                  <input id="sim-deadline" type="time" required value={deadline} onChange={(e) => setDeadline(e.target.value)} className={`${inputClass} w-32`} />
                </Field>
              </>
            )}
            <Field label={t("meter.power")} htmlFor="sim-power">
              <input id="sim-power" type="number" min={1} max={50} step={0.1} value={power} onChange={(e) => setPower(Number(e.target.value))} className={`${inputClass} w-28`} />
            </Field>
            <Button type="submit" variant="primary" disabled={busy}>{t("meter.runSimulation")}</Button>
          </form>
          {error && <div className="mt-3"><ErrorNote error={error} /></div>}
          {result && (
            <div className="mt-4 flex flex-col gap-3">
              {!result.feasible && <p role="alert" className="text-sm text-bad">{t("meter.infeasible", { reason: result.reason ?? "" })}</p>}
              {result.feasible && result.reason && <p className="text-sm text-muted" data-testid="simulate-note">{result.reason}</p>}
              <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
                <Stat label={t("meter.naive")} value={fmtEur(result.naive_cost_eur, locale)} />
                <Stat label={t("meter.optimised")} value={fmtEur(result.optimised_cost_eur, locale)} />
                <Stat label={t("meter.saving")} value={fmtEur(result.saving_eur, locale)} tone="good" />
              </div>
              <Chart
                label={t("meter.simulate")}
                data={data}
                timeZone={tz}
                yLabel="kW"
                height={220}
                emptyText={t("common.noData")}
                series={[
                  { label: t("meter.naive"), colour: "#94a3b8", kind: "step", dash: [5, 4] },
                  { label: t("meter.optimised"), colour: "#34d399", kind: "step", width: 2 },
                ]}
              />
            </div>
          )}
        </>
      )}
    </Card>
  );
}
