import { render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorNote } from "../components/ui";
import { ApiError } from "../lib/api";
import { I18nProvider, LANG_STORAGE_KEY } from "../lib/i18n";

function renderIn(lang: "de" | "en", error: Error) {
  localStorage.setItem(LANG_STORAGE_KEY, lang);
  return render(
    <I18nProvider>
      <ErrorNote error={error} />
    </I18nProvider>,
  );
}

describe("server errors in the reader's language", () => {
  afterEach(() => localStorage.clear());

  it("says what a known code means in German, with the server's English detail below", () => {
    renderIn("de", new ApiError(403, "forbidden", "this needs the admin role"));
    expect(screen.getByTestId("error-headline").textContent).toBe("Dafür fehlt Ihnen die Berechtigung.");
    expect(screen.getByRole("alert").textContent).toContain("this needs the admin role");
  });

  it("shows the server's own explanation to English readers and for unknown codes", () => {
    renderIn("en", new ApiError(403, "forbidden", "this needs the admin role"));
    expect(screen.queryByTestId("error-headline")).toBeNull();
    expect(screen.getByRole("alert").textContent).toContain("this needs the admin role");
  });

  it("leaves errors without a code as they are", () => {
    renderIn("de", new Error("network down"));
    expect(screen.queryByTestId("error-headline")).toBeNull();
    expect(screen.getByRole("alert").textContent).toContain("network down");
  });
});
