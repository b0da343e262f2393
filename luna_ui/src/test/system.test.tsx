import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { I18nProvider, LANG_STORAGE_KEY } from "../lib/i18n";
import type { ComponentStatus } from "../lib/types";
import { ComponentTable, RecentErrors } from "../pages/console/System";

// The shape GET /admin/status answers with (luna_core/ops/status.py): each check names its target,
// its answer time and what it found; a component that is down says why.
const checks: ComponentStatus[] = [
  { name: "database", ok: true, target: "postgresql://luna_app@db:5432/luna", detail: "schema 0009 (head), as role luna_app", latency_ms: 3.4, version: "PostgreSQL 17.6" },
  { name: "vector_store", ok: true, target: "http://qdrant:6333", detail: "alias luna_knowledge -> luna_knowledge_c20261202", latency_ms: 12.2, version: "Qdrant 1.15.4" },
  { name: "chat_model", ok: false, target: "http://ollama:11434 llama3.2:3b", detail: "model llama3.2:3b is not on the server (pulled: nomic-embed-text:latest); run `ollama pull llama3.2:3b`", latency_ms: 1234.5, version: null },
  { name: "tika", ok: true, target: "in-process", detail: "the embedded native Apache Tika (iscc-tika) inside this process", latency_ms: null, version: null },
  { name: "api", ok: true, target: "this process", detail: "serving", latency_ms: null, version: "0.1.0" },
];

function renderTable(components: ComponentStatus[], lang: "en" | "de" = "en") {
  localStorage.setItem(LANG_STORAGE_KEY, lang);
  render(
    <I18nProvider>
      <ComponentTable components={components} />
    </I18nProvider>,
  );
}

function row(name: string) {
  return within(screen.getByRole("rowheader", { name }).closest("tr") as HTMLElement);
}

describe("system status components", () => {
  it("shows what each check asked, how long it took and what it found", () => {
    renderTable(checks);
    expect(screen.getByText("Components · 4 of 5 answer")).toBeInTheDocument();
    const database = row("Database");
    expect(database.getByText("OK")).toBeInTheDocument();
    expect(database.getByText("postgresql://luna_app@db:5432/luna")).toBeInTheDocument();
    expect(database.getByText("3 ms")).toBeInTheDocument();
    expect(database.getByText("PostgreSQL 17.6")).toBeInTheDocument();
    expect(row("Vector index").getByText("http://qdrant:6333")).toBeInTheDocument();
    const chat = row("Chat model");
    expect(chat.getByText("down")).toBeInTheDocument();
    expect(chat.getByText(/run `ollama pull llama3.2:3b`/)).toBeInTheDocument();
    expect(chat.getByText("1,235 ms")).toBeInTheDocument();
    expect(row("Text extraction (Tika)").getByText("–")).toBeInTheDocument(); // nothing was reached
    expect(screen.getByRole("columnheader", { name: "Checked" })).toBeInTheDocument();
  });

  it("leaves the target column out for tenant admins, who get no addresses", () => {
    renderTable(checks.map((c) => ({ ...c, target: null })));
    expect(screen.queryByRole("columnheader", { name: "Checked" })).not.toBeInTheDocument();
    expect(screen.queryByText("postgresql://luna_app@db:5432/luna")).not.toBeInTheDocument();
    expect(row("Database").getByText("OK")).toBeInTheDocument();
  });

  it("speaks German, numbers in the German locale, and shows unknown components by their name", () => {
    renderTable([...checks, { name: "weather", ok: true, target: "https://api.example", detail: "ok", latency_ms: 2500, version: null }], "de");
    expect(screen.getByText("Komponenten · 5 von 6 antworten")).toBeInTheDocument();
    expect(row("Chat-Modell").getByText("gestört")).toBeInTheDocument();
    expect(row("Chat-Modell").getByText("1.235 ms")).toBeInTheDocument();
    expect(row("weather").getByText("2.500 ms")).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "Geprüft" })).toBeInTheDocument();
  });
});

describe("recent errors", () => {
  const line = '{"event": "luna.retriever_failed", "level": "error", "tenant": "acme", "request_id": "r-1"}';

  function renderErrors(status: Parameters<typeof RecentErrors>[0]["status"], lang: "en" | "de" = "en") {
    localStorage.setItem(LANG_STORAGE_KEY, lang);
    render(
      <I18nProvider>
        <RecentErrors status={status} />
      </I18nProvider>,
    );
  }

  it("says the lines come from Loki when the server read them there", () => {
    renderErrors({ errors: [line], errors_source: "loki", errors_problem: null });
    expect(screen.getByText("Recent warnings and errors")).toBeInTheDocument();
    expect(screen.getByTestId("errors-source")).toHaveTextContent("From Loki: every process of the stack");
    expect(screen.getByText(/luna.retriever_failed/)).toBeInTheDocument();
  });

  it("says why Loki could not be read and that the lines are this process's own", () => {
    renderErrors({ errors: [], errors_source: "process", errors_problem: "Loki at http://loki:3100 did not answer: ConnectError" }, "de");
    expect(screen.getByTestId("errors-source")).toHaveTextContent("Nur aus diesem API-Prozess");
    expect(screen.getByText(/did not answer: ConnectError/)).toBeInTheDocument();
  });

  it("shows nothing when there is nothing to say", () => {
    renderErrors({ errors: [], errors_source: "process", errors_problem: null });
    expect(screen.queryByText("Recent warnings and errors")).not.toBeInTheDocument();
  });
});
